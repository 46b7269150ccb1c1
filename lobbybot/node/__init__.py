"""Node host: components, parameters, heartbeat and the process that runs one node."""
