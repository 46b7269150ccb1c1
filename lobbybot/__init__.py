"""lobbybot: on-device runtime of a bank-lobby receptionist robot and kiosk.

This common package holds what every component shares: the message contracts, the three
transports (in-process, ROS 2, ZMQ), the node host, launch, configuration and the CLI.
"""

__version__ = "0.1.0"
