"""Run ROS 2 YAML launch files without launch_ros (not installable here).

The files in ``launch/`` are ordinary ROS 2 YAML launch files (``ros2 launch`` runs them on
a full ROS install); :mod:`.description` reads the subset lobbybot uses and
:mod:`.supervisor` runs one process per node with respawn, log prefixes and clean stop.
"""
