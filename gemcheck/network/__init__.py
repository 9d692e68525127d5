"""Network isolation: firewall rule model and importers, topology, reachability, data room."""
