"""sgm.Error: every failure of this package, with sgm's status name."""
from . import _lib

# sgm_core.h SGM_STATUS_LIST: value -> name
STATUS_NAMES = {
    0: "SGM_OK", -1: "SGM_ERR_INVALID_ARG", -2: "SGM_ERR_SHAPE", -3: "SGM_ERR_NOMEM",
    -4: "SGM_ERR_IO", -5: "SGM_ERR_FORMAT", -6: "SGM_ERR_UNSUPPORTED",
    -7: "SGM_ERR_CALLBACK", -8: "SGM_ERR_NONFINITE", -9: "SGM_ERR_ABORTED",
    -10: "SGM_ERR_NO_CONVERGENCE", -11: "SGM_ERR_UNKNOWN_NAME",
}


class Error(RuntimeError):
    """A failure reported by sgm (or refused before reaching it).

    Attributes: status (int, negative sgm_status), status_name (e.g.
    "SGM_ERR_SHAPE") and message (sgm's one-line message)."""

    def __init__(self, status, message):
        self.status = int(status)
        self.status_name = STATUS_NAMES.get(self.status, "SGM_ERR_%d" % -self.status)
        self.message = message
        super().__init__("%s (%s)" % (message, self.status_name))


class ArgumentError(Error, ValueError):
    """Bad input found on the Python side (wrong dtype, shape, name, value):
    an sgm.Error and a ValueError."""

    def __init__(self, message, status=-1):
        super().__init__(status, message)


def shape_error(message):
    return ArgumentError(message, status=-2)


def new_err():
    """A fresh sgm_error record for one call."""
    return _lib.Error_t()


def check(status, err=None, what=None):
    """Raises sgm.Error when status is not SGM_OK."""
    if status == 0:
        return
    msg = err.msg.decode("utf-8", "replace") if err is not None and err.msg else ""
    if not msg:
        msg = (_lib.lib.sgm_status_str(status) or b"").decode()
    if what:
        msg = "%s: %s" % (what, msg)
    raise Error(status, msg)
