"""Fleets: audit many sites in parallel, shard and merge, and plan the restart of services."""
