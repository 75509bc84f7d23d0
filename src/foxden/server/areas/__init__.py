"""One module per API area; each exposes HANDLERS: endpoint name -> handler."""

from __future__ import annotations

from foxden.server.areas import (
    battery,
    battery_heating,
    device,
    module,
    peak_shaving,
    plant,
    scheduler,
    settings,
    telemetry,
    user,
)
from foxden.server.context import Handler

HANDLERS: dict[str, Handler] = {
    **plant.HANDLERS,
    **device.HANDLERS,
    **module.HANDLERS,
    **battery.HANDLERS,
    **settings.HANDLERS,
    **scheduler.HANDLERS,
    **peak_shaving.HANDLERS,
    **battery_heating.HANDLERS,
    **user.HANDLERS,
    **telemetry.HANDLERS,
}
