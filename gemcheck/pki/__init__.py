"""TI PKI knowledge: algorithms, certificate types, trust lists, chains and OCSP."""
