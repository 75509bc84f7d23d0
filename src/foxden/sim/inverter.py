"""The inverter's own losses and temperatures.

Conversion loss between its DC side (PV) and AC, as a fraction of the rating ``x``:
``loss = rating * (LINEAR * x + QUADRATIC * x^2)``, about 2.5-3.5 % from a fifth of the
rating up (the curve a CEC/Euro efficiency of 96-97 % describes), and standby consumption
(control boards, fans, the meter) drawn whatever it does: ~50 W on a hybrid, as real captures
show at night, ~10 W on a grid-tied one.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

F = npt.NDArray[np.float64]

LINEAR = 0.02
QUADRATIC = 0.01
STANDBY_HYBRID_KW = 0.045
STANDBY_GRID_TIED_KW = 0.010


def pv_to_ac(pv_dc_kw: F, rating_kw: F) -> F:
    """AC power from ``pv_dc_kw`` of DC: the conversion loss taken, clipped at the rating."""
    x = pv_dc_kw / rating_kw
    ac = pv_dc_kw - rating_kw * (LINEAR * x + QUADRATIC * x**2)
    return np.asarray(np.clip(np.minimum(ac, rating_kw), 0, None), dtype=np.float64)


def ac_to_pv(pv_ac_kw: F, rating_kw: F) -> F:
    """The DC power that gives ``pv_ac_kw`` (inverse of ``pv_to_ac`` below the rating)."""
    # P - a P - b P^2 / R = AC  =>  (b / R) P^2 - (1 - a) P + AC = 0, the smaller root
    a, b = LINEAR, QUADRATIC / rating_kw
    disc = np.maximum((1 - a) ** 2 - 4 * b * pv_ac_kw, 0.0)
    return np.asarray(2 * pv_ac_kw / ((1 - a) + np.sqrt(disc)), dtype=np.float64)


def efficiency(pv_dc_kw: F, rating_kw: F) -> F:
    """AC out over DC in (0 where nothing comes in)."""
    ac = pv_to_ac(pv_dc_kw, rating_kw)
    return np.asarray(np.where(pv_dc_kw > 0, ac / np.maximum(pv_dc_kw, 1e-12), 0.0))


def temperatures(air_c: F, output_kw: F, rating_kw: F) -> tuple[F, F, F, F]:
    """(inverter, its internal ambient, boost, DSP) temperatures, °C: an inverter indoors or
    in a garage sits at 25-35 °C idle and 45-50 °C at full power (the real captures read
    invTemperation 23.6-29.7 °C with ambientTemperation 31-33.5 °C, a few degrees above)."""
    room = 0.5 * air_c + 10
    load = np.clip(np.abs(output_kw) / rating_kw, 0, 1.2)
    inverter = room + 10 + 22 * load
    return (
        np.asarray(inverter, dtype=np.float64),
        np.asarray(room + 17 + 8 * load, dtype=np.float64),
        np.asarray(room + 12 + 26 * load, dtype=np.float64),
        np.asarray(room + 14 + 16 * load, dtype=np.float64),
    )
