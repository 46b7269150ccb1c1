"""Kiosk tablet mode: the receptionist as local web pages over the ZMQ transport."""
