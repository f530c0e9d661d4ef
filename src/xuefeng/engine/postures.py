"""Engine posture indices, in the order of the scenario schema's `Posture` (compile.POSTURE_NAMES).

One place for the numbers, so that the NumPy phases and the Numba kernels (which read module
globals as constants) agree."""

ATTACK, HASTY, PREPARED, FORTIFIED, DELAY, WITHDRAWAL, RESERVE = range(7)
