"""Routing: branch configuration, tickets, queue-aware counter choice, wait estimates, teller calls.

Plain Python (SQLite for the ticket store), no ROS: the ``routing`` node adapts it to the
transports, ``lobbybot teller`` drives it from a terminal.
"""
