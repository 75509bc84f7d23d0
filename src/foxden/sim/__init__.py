"""The fleet: simulated inverters that feed the store with plausible telemetry.

One module per physical subsystem: ``weather`` (clear sky, clearness, clouds, air),
``household`` (one household per plant), ``pv`` (sun, plane of array, DC power), ``battery``
(pack voltage, limits, SoC), ``inverter`` (losses, temperatures), ``control`` (what the API
set and what the inverter does with it), ``counters`` (lifetime energy); ``engine`` steps a
fleet through a day and ``variables`` derives every telemetry variable; ``runner`` reads
devices and settings from the store, backfills history and keeps the fleet live; ``clock``
runs simulated time real, accelerated or frozen.
"""
