"""Names known to the library: samplers (the registry of sgm_sampler.h) and
the enum tables of sgm_core.h (processes, schedules, predictions)."""
from . import _lib
from .errors import ArgumentError

lib = _lib.lib


def enum_names(which):
    """Canonical names of one sgm_enum table, in value order."""
    return [lib.sgm_enum_name(which, i).decode() for i in range(lib.sgm_enum_count(which))]


def parse_enum(which, name, what):
    """Value of a canonical name or alias; ArgumentError (SGM_ERR_UNKNOWN_NAME)."""
    if not isinstance(name, str):
        raise ArgumentError("%s: expected a name, got %r" % (what, name))
    v = _lib.c_int(0)
    if lib.sgm_enum_parse(which, name.encode(), _lib.ctypes.byref(v)) != 0:
        raise ArgumentError("unknown %s '%s' (expected one of %s)"
                            % (what, name, ", ".join(enum_names(which))), status=-11)
    return v.value


def samplers():
    """The sampler registry: a list of dicts (name, aliases, summary, order,
    stochastic, adaptive)."""
    out = []
    for i in range(lib.sgm_method_count()):
        m = lib.sgm_method_at(i).contents
        aliases = (m.aliases or b"").decode()
        out.append({"name": m.name.decode(),
                    "aliases": [a for a in aliases.split(",") if a],
                    "summary": (m.summary or b"").decode(), "order": m.order,
                    "stochastic": bool(m.stochastic), "adaptive": bool(m.adaptive)})
    return out


def list():  # noqa: A001 - the name the API promises (sgm.list())
    """Everything `sgm list` shows: {"samplers": [...], "schedules": [...],
    "processes": [...], "predictions": [...]}."""
    return {"samplers": samplers(),
            "schedules": enum_names(_lib.ENUM_SCHEDULE),
            "processes": enum_names(_lib.ENUM_PROCESS),
            "predictions": enum_names(_lib.ENUM_PREDICTION)}


def find_sampler(name):
    """The canonical name of a sampler name or alias; ArgumentError if unknown."""
    if not isinstance(name, str):
        raise ArgumentError("sampler: expected a name, got %r" % (name,))
    m = lib.sgm_method_find(name.encode())
    if not m:
        raise ArgumentError("unknown sampler '%s' (see sgm.list()['samplers'])" % name,
                            status=-11)
    return m.contents.name.decode()
