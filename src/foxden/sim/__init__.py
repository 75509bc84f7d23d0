"""The fleet: simulated inverters that feed the store with plausible telemetry.

``physics`` holds pure, vectorised steps (sun, weather, load, battery dispatch);
``engine`` turns a fleet's state and controls into samples of every variable;
``runner`` reads devices and settings from the store, backfills history and keeps the
fleet live; ``clock`` runs simulated time real, accelerated or frozen.
"""
