"""Whether the operating system reports its clock as synchronised (NTP/PTP discipline).

Read with ``adjtimex`` in read-only mode: the kernel answers TIME_ERROR while
the clock is not synchronised. None where it cannot be asked (not Linux).
"""

from __future__ import annotations

import ctypes
import ctypes.util

TIME_ERROR = 5
# struct timex is 208 bytes on 64-bit Linux; zeroed, its ``modes`` field asks for nothing.
_TIMEX_BYTES = 512


def os_clock_synchronised() -> bool | None:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
        adjtimex = libc.adjtimex
    except (OSError, AttributeError):
        return None
    state = adjtimex(ctypes.create_string_buffer(_TIMEX_BYTES))
    if state < 0:
        return None
    return bool(state != TIME_ERROR)
