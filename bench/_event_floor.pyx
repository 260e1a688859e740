# cython: language_level=3, boundscheck=False, wraparound=False
"""The event floor of the trading benchmark: a stand-in venue with no venue logic at all.

For each command it returns events of exactly the types and shapes Lion Rock's venue returned for
that command in an untimed pass (OrderAccepted, a TradeExecuted per fill, MarketDepthUpdated with
the same number of level tuples per side, OrderCancelled; or raises the same rejection), built
the way the compiled venue builds them (fields stored straight into the msgspec Struct, the same
fresh ints). Timed with the same harness loop, it is the ceiling of any venue that hands every
event to the engine as a Python object: what is left of Lion Rock's time beyond it is the venue
itself (validation, matching, records). Compiled on first use by pyximport (bench only).
"""

from cpython.object cimport PyObject
from libc.string cimport memset

from lionrock.trading._codes import order_not_live
from lionrock.trading.events import MarketDepthUpdated, OrderAccepted, OrderCancelled, TradeExecuted

cdef extern from "Python.h":
    void* PyObject_Malloc(size_t n)
    object PyObject_Init(PyObject* op, PyTypeObject* tp)
    void _incref "Py_INCREF"(PyObject* op)
    ctypedef struct PyTypeObject:
        pass
    ctypedef struct PyMemberDef:
        const char* name
        int type
        Py_ssize_t offset
    ctypedef struct PyMemberDescrObject:
        PyMemberDef* d_member

cdef struct Layout:
    PyTypeObject* tp
    Py_ssize_t size
    int n
    Py_ssize_t off[16]


cdef int _layout(Layout* L, object cls) except -1:
    fields = cls.__struct_fields__
    L.tp = <PyTypeObject*>cls
    L.size = cls.__basicsize__
    L.n = len(fields)
    for i, name in enumerate(fields):
        L.off[i] = (<PyMemberDescrObject*><PyObject*>cls.__dict__[name]).d_member.offset
    return 0


cdef object _make(Layout* L, PyObject** values):
    cdef void* mem = PyObject_Malloc(L.size)
    cdef int i
    if mem == NULL:
        raise MemoryError()
    memset(mem, 0, L.size)
    obj = PyObject_Init(<PyObject*>mem, L.tp)
    for i in range(L.n):
        _incref(values[i])
        (<PyObject**>((<char*>mem) + L.off[i]))[0] = values[i]
    return obj


cdef Layout L_ACCEPTED, L_TRADE, L_DEPTH, L_CANCELLED
_layout(&L_ACCEPTED, OrderAccepted)
_layout(&L_TRADE, TradeExecuted)
_layout(&L_DEPTH, MarketDepthUpdated)
_layout(&L_CANCELLED, OrderCancelled)

# shape codes (see `shape_of`)
ACCEPTED, TRADE, DEPTH, CANCELLED = 0, 1, 2, 3


def shape_of(events):
    """The shape of one command's events: a tuple of (code, bid levels or the trade's quantity,
    ask levels); a command the venue rejected has the shape None."""
    out = []
    for e in events:
        name = type(e).__name__
        if name == "OrderAccepted":
            out.append((ACCEPTED, 0, 0))
        elif name == "TradeExecuted":
            out.append((TRADE, e.quantity, 0))
        elif name == "MarketDepthUpdated":
            out.append((DEPTH, len(e.bids), len(e.asks)))
        elif name == "OrderCancelled":
            out.append((CANCELLED, 0, 0))
        else:
            raise ValueError(f"the floor does not model {name}")
    return tuple(out)


cdef class EventFloor:
    cdef list shapes
    cdef Py_ssize_t i
    cdef long long seq

    def __init__(self, shapes):
        self.shapes = list(shapes)
        self.i = 0
        self.seq = 0

    def execute(self, cmd, stamp):
        cdef PyObject* ev[16]
        cdef object fresh, md, levels_b, levels_a, value
        cdef int j, k
        shape = self.shapes[self.i]
        self.i += 1
        if shape is None:
            self.seq += 1
            raise order_not_live(self.seq)
        value = cmd.instrument  # a field the venue reads; objects reused as the venue reuses them
        events = []
        for code, nb, na in shape:
            self.seq += 1
            fresh = self.seq  # the venue's fresh ints: order id / trade id / md_seq
            # every field is set (a field added to an event must not be left unset here)
            if code == ACCEPTED:
                for j in range(L_ACCEPTED.n):
                    ev[j] = <PyObject*>value
                ev[0] = <PyObject*>fresh
                events.append(_make(&L_ACCEPTED, ev))
            elif code == TRADE:
                for j in range(L_TRADE.n):
                    ev[j] = <PyObject*>value
                ev[1] = <PyObject*>fresh
                ev[3] = <PyObject*>nb  # the trade's quantity
                self.seq += 1
                md = self.seq
                ev[14] = <PyObject*>md
                events.append(_make(&L_TRADE, ev))
            elif code == DEPTH:
                levels_b = [(value, value, value) for k in range(nb)]
                levels_a = [(value, value, value) for k in range(na)]
                for j in range(L_DEPTH.n):
                    ev[j] = <PyObject*>value
                ev[1] = <PyObject*>fresh
                ev[6] = <PyObject*>levels_b
                ev[7] = <PyObject*>levels_a
                events.append(_make(&L_DEPTH, ev))
            else:
                for j in range(L_CANCELLED.n):
                    ev[j] = <PyObject*>value
                ev[0] = <PyObject*>fresh
                events.append(_make(&L_CANCELLED, ev))
        return events
