# cython: language_level=3, boundscheck=False, wraparound=True, cdivision=True, initializedcheck=False
"""The compiled core of the trading venue (built by setup.py; optional: everything falls back to
pure Python when it is not built).

- `FastBook`: the `book.Book` interface over C arrays: price levels in one sorted array per side
  (best last), FIFO queues as linked lists in a node pool, order id -> node in an open-addressing
  hash table. Same answers as `PyFastBook` and `ReferenceBook` for the same calls.
- `Order` and `Instrument`: the venue's per-order and per-instrument records as C structs with
  Python-visible fields (same fields as the pure-Python `_Order` / `_Instrument` in `_venue`).
- `VenueCore`: the base of `TradingContext` when compiled. It holds the venue's hot state as typed
  fields and runs the hot path (continuous-session limit / enhanced limit / special limit orders
  and cancels when no volatility-control band applies) in C. The fast path never decides a
  rejection: when anything is unusual (a check fails, a retry, VCM monitoring active, a timer due,
  another session) it returns None BEFORE changing any state and the pure-Python path in
  `_venue.py` handles the command, so events and rejections are the Python path's by construction.
  `tests/trading/test_differential.py` checks the streams are identical.
"""

from collections import deque
from bisect import bisect_right

cimport cython
from cpython.long cimport PyLong_AsLongLongAndOverflow, PyLong_FromLongLong
from cpython.object cimport PyObject
from libc.stdlib cimport malloc, realloc, free
from libc.string cimport memmove, memset
from libc.stdint cimport int32_t, int64_t

from lionrock.kernel.messages import Stamp as _StampType
from lionrock.kernel.errors import Reject as _RejectClass
from lionrock.trading import events as _events
from lionrock.trading._codes import order_not_live as _order_not_live_f
from lionrock.trading._codes import unknown_client_order as _unknown_client_order_f
from lionrock.trading.commands import CancelOrder as _CancelOrderType, PlaceOrder as _PlaceOrderType

cdef extern from "Python.h":
    ctypedef struct PyMemberDef:
        const char* name
        int type
        Py_ssize_t offset
    ctypedef struct PyMemberDescrObject:
        PyMemberDef* d_member

# referenced from C (no module-dict lookups on the hot path)
cdef object OrderAccepted = _events.OrderAccepted
cdef object OrderCancelled = _events.OrderCancelled
cdef object TradeExecuted = _events.TradeExecuted
cdef object MarketDepthUpdated = _events.MarketDepthUpdated
cdef object _PlaceOrder = _PlaceOrderType
cdef object _CancelOrder = _CancelOrderType
cdef object _Stamp = _StampType
cdef object _RejectType = _RejectClass
cdef object _unknown_client_order = _unknown_client_order_f
cdef object _order_not_live = _order_not_live_f


cdef Py_ssize_t _slot(object cls, str name) except -1:
    """Byte offset of a msgspec Struct field (a member descriptor): the hot path reads command
    fields straight from the object (the type is checked exactly before every read)."""
    descr = cls.__dict__.get(name)
    if type(descr).__name__ != "member_descriptor":
        raise TypeError(f"{cls.__name__}.{name} is not a slot")
    return (<PyMemberDescrObject*><PyObject*>descr).d_member.offset


cdef inline object _get(object obj, Py_ssize_t offset):
    """The field at ``offset`` (never NULL for a constructed Struct; None would be if it were)."""
    cdef PyObject* p = (<PyObject**>((<char*>(<PyObject*>obj)) + offset))[0]
    if p == NULL:
        return None
    return <object>p


cdef extern from *:
    void __builtin_prefetch(const void* p) noexcept nogil


cdef extern from "Python.h":
    void* PyObject_Malloc(size_t n)
    object PyObject_Init(PyObject* op, PyTypeObject* tp)
    void _incref "Py_INCREF"(PyObject* op)
    void _decref "Py_DECREF"(PyObject* op)
    ctypedef struct PyTypeObject:
        pass


cdef struct Layout:
    PyTypeObject* tp
    Py_ssize_t size
    int n
    Py_ssize_t off[16]


cdef int _layout(Layout* L, object cls) except -1:
    """Where each field of the event Struct ``cls`` lives, in declaration order."""
    fields = cls.__struct_fields__
    if len(fields) > 16:
        raise TypeError(f"{cls.__name__} has more than 16 fields")
    L.tp = <PyTypeObject*>cls
    L.size = cls.__basicsize__
    L.n = len(fields)
    for i, name in enumerate(fields):
        L.off[i] = _slot(cls, name)
    return 0


cdef object _make(Layout* L, PyObject** values):
    """A new event Struct with its fields set to ``values`` (in declaration order), built as
    msgspec builds one (zeroed object memory, ``PyObject_Init``, a reference per field) without
    matching keyword names: the hot path's events cost an allocation and n stores. The module
    checks at import that this gives objects equal to the constructor's (`_check_layouts`)."""
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


cdef Py_ssize_t PO_INSTRUMENT = _slot(_PlaceOrder, "instrument")
cdef Py_ssize_t PO_PARTICIPANT = _slot(_PlaceOrder, "participant")
cdef Py_ssize_t PO_ACCOUNT = _slot(_PlaceOrder, "account")
cdef Py_ssize_t PO_COID = _slot(_PlaceOrder, "client_order_id")
cdef Py_ssize_t PO_SIDE = _slot(_PlaceOrder, "side")
cdef Py_ssize_t PO_TYPE = _slot(_PlaceOrder, "order_type")
cdef Py_ssize_t PO_PRICE = _slot(_PlaceOrder, "price")
cdef Py_ssize_t PO_QUANTITY = _slot(_PlaceOrder, "quantity")
cdef Py_ssize_t PO_CHANNEL = _slot(_PlaceOrder, "channel")
cdef Py_ssize_t PO_SHORT_SELL = _slot(_PlaceOrder, "short_sell")
cdef Py_ssize_t CO_INSTRUMENT = _slot(_CancelOrder, "instrument")
cdef Py_ssize_t CO_PARTICIPANT = _slot(_CancelOrder, "participant")
cdef Py_ssize_t CO_ORDER_ID = _slot(_CancelOrder, "order_id")
cdef Py_ssize_t CO_COID = _slot(_CancelOrder, "client_order_id")
cdef Py_ssize_t ST_AT_NS = _slot(_Stamp, "at_ns")

cdef Layout L_ACCEPTED, L_TRADE, L_DEPTH, L_CANCELLED, L_PLACE
_layout(&L_ACCEPTED, OrderAccepted)
_layout(&L_PLACE, _PlaceOrder)
_layout(&L_TRADE, TradeExecuted)
_layout(&L_DEPTH, MarketDepthUpdated)
_layout(&L_CANCELLED, OrderCancelled)


cdef int _check_layout(Layout* L, object cls) except -1:
    """Refuse to load (the venue then runs pure Python) unless `_make` builds the same object as
    the constructor: equal, same encoding, same repr (a msgspec whose Structs are laid out
    differently is caught here, not in a trade)."""
    import msgspec
    cdef PyObject* values[16]
    kwargs = {name: (i * 7919 + 100003 if i % 2 else f"v{i}") for i, name in enumerate(cls.__struct_fields__)}
    ordered = [kwargs[name] for name in cls.__struct_fields__]
    for i in range(L.n):
        values[i] = <PyObject*>ordered[i]
    made = _make(L, values)
    built = cls(**kwargs)
    if type(made) is not cls or made != built or repr(made) != repr(built) or msgspec.msgpack.encode(made) != msgspec.msgpack.encode(built):
        raise ImportError(f"msgspec Struct layout of {cls.__name__} is not the one the compiled venue expects")
    return 0


_check_layout(&L_ACCEPTED, OrderAccepted)
_check_layout(&L_TRADE, TradeExecuted)
_check_layout(&L_DEPTH, MarketDepthUpdated)
_check_layout(&L_CANCELLED, OrderCancelled)
_check_layout(&L_PLACE, _PlaceOrder)

# the fast path stores exactly this many fields of each event (ev[0..n-1]); an event that gains a
# field must gain it there too, else the field would be left unset: refuse to load instead
cdef int _check_fields(Layout* L, object cls, int n) except -1:
    if L.n != n:
        raise ImportError(f"{cls.__name__} has {L.n} fields; the compiled venue sets {n}")
    return 0


_check_fields(&L_ACCEPTED, OrderAccepted, 11)
_check_fields(&L_TRADE, TradeExecuted, 15)
_check_fields(&L_DEPTH, MarketDepthUpdated, 8)
_check_fields(&L_CANCELLED, OrderCancelled, 6)
_check_fields(&L_PLACE, _PlaceOrder, 10)
if tuple(_PlaceOrder.__struct_fields__) != ("instrument", "participant", "account", "client_order_id", "side", "order_type", "price", "quantity", "channel", "short_sell"):
    raise ImportError("PlaceOrder's fields are not in the order the batch path builds them")

ctypedef long long i64

cdef i64 AT_AUCTION_BUY = 1 << 40
cdef i64 AT_AUCTION_SELL = 1
cdef i64 NS = 1000000000
cdef i64 EMPTY = -0x7FFFFFFFFFFFFFFF - 1
cdef i64 TOMB = -0x7FFFFFFFFFFFFFFF

cdef struct Node:
    i64 order_id
    i64 remaining
    int prev
    int next
    int level
    int side

cdef struct Level:
    i64 price
    i64 quantity
    i64 count
    int head
    int tail

cdef struct TapeRec:
    # one record of the batch path's event tape (`lionrock.trading.batch.TAPE_FIELDS`, same order)
    i64 row
    i64 kind
    i64 side
    i64 order_id
    i64 other_id
    i64 trade_id
    i64 price
    i64 quantity
    i64 left
    i64 other_left
    i64 md_seq
    i64 ref

cdef enum:
    # record kinds (`lionrock.trading.batch.K_*`)
    K_ACCEPTED = 1
    K_TRADE = 2
    K_CANCELLED = 3
    K_LEVEL = 4
    K_DEPTH = 5
    K_REFUSED = 6
    K_EVENT = 7
    K_REJECTED = 8

cdef struct FillRec:
    i64 order_id
    i64 price
    i64 quantity
    i64 left


cdef inline size_t _mix(i64 k) noexcept nogil:
    cdef unsigned long long x = (<unsigned long long>k) * 0x9E3779B97F4A7C15ULL
    return <size_t>(x ^ (x >> 29))


cdef enum:
    INT_CACHE = 4096
cdef i64 _int_keys[INT_CACHE]
cdef PyObject* _int_objs[INT_CACHE]   # owned references (NULL: empty)


cdef inline object _int(i64 v):
    """A Python int of ``v``: prices and quantities repeat, so the last int made for each of 4096
    buckets is handed out again instead of allocating (ints are immutable; identity is never
    observable in an event's value or encoding)."""
    cdef size_t b = <size_t>(((<unsigned long long>v) * 0x9E3779B97F4A7C15ULL) >> 52)
    cdef PyObject* hit = _int_objs[b]
    if hit != NULL and _int_keys[b] == v:
        return <object>hit
    obj = PyLong_FromLongLong(v)
    _incref(<PyObject*>obj)
    if hit != NULL:
        _decref(hit)
    _int_objs[b] = <PyObject*>obj
    _int_keys[b] = v
    return obj


cdef bint _as_i64(object value, i64* out):
    """True and the value when ``value`` is a Python int that fits 62 bits (anything else: the
    Python path handles it)."""
    cdef int overflow = 0
    cdef i64 v
    if type(value) is not int:
        return False
    v = PyLong_AsLongLongAndOverflow(value, &overflow)
    if overflow or v > (1LL << 61) or v < -(1LL << 61):
        return False
    out[0] = v
    return True


cdef class FastBook:
    """Price-time book over C arrays (see the module docstring)."""

    cdef Node* nodes
    cdef int ncap
    cdef int free_node
    cdef Level* lv
    cdef int lcap
    cdef int free_level
    cdef i64* keys[2]       # per side, ascending; key = price (bids) or -price (asks): best last
    cdef int* lidx[2]
    cdef int nlev[2]
    cdef int scap[2]
    cdef i64* hkeys
    cdef int* hvals
    cdef size_t hcap
    cdef size_t hused
    cdef Py_ssize_t count
    cdef FillRec* fills
    cdef Py_ssize_t fcap

    def __cinit__(self):
        cdef int s
        self.ncap = 0
        self.free_node = -1
        self.lcap = 0
        self.free_level = -1
        self.nodes = NULL
        self.lv = NULL
        for s in range(2):
            self.keys[s] = <i64*>malloc(16 * sizeof(i64))
            self.lidx[s] = <int*>malloc(16 * sizeof(int))
            self.nlev[s] = 0
            self.scap[s] = 16
        self.hcap = 64
        self.hused = 0
        self.hkeys = <i64*>malloc(self.hcap * sizeof(i64))
        self.hvals = <int*>malloc(self.hcap * sizeof(int))
        for s in range(<int>self.hcap):
            self.hkeys[s] = EMPTY
        self.count = 0
        self.fcap = 64
        self.fills = <FillRec*>malloc(self.fcap * sizeof(FillRec))
        if (self.keys[0] == NULL or self.keys[1] == NULL or self.lidx[0] == NULL or self.lidx[1] == NULL
                or self.hkeys == NULL or self.hvals == NULL or self.fills == NULL):
            raise MemoryError()

    def __dealloc__(self):
        cdef int s
        free(self.nodes)
        free(self.lv)
        for s in range(2):
            free(self.keys[s])
            free(self.lidx[s])
        free(self.hkeys)
        free(self.hvals)
        free(self.fills)

    # -- hash: order id -> node index -----------------------------------------------------------
    cdef int _hget(self, i64 oid) noexcept:
        cdef size_t mask = self.hcap - 1
        cdef size_t i = _mix(oid) & mask
        cdef i64 k
        while True:
            k = self.hkeys[i]
            if k == oid:
                return self.hvals[i]
            if k == EMPTY:
                return -1
            i = (i + 1) & mask

    cdef int _hdel(self, i64 oid) noexcept:
        cdef size_t mask = self.hcap - 1
        cdef size_t i = _mix(oid) & mask
        cdef i64 k
        cdef int v
        while True:
            k = self.hkeys[i]
            if k == oid:
                self.hkeys[i] = TOMB
                return self.hvals[i]
            if k == EMPTY:
                return -1
            i = (i + 1) & mask

    cdef int _rehash(self, size_t cap) except -1:
        cdef i64* oldk = self.hkeys
        cdef int* oldv = self.hvals
        cdef size_t oldcap = self.hcap
        cdef size_t i, j, mask
        cdef i64* nk = <i64*>malloc(cap * sizeof(i64))
        cdef int* nv = <int*>malloc(cap * sizeof(int))
        if nk == NULL or nv == NULL:
            free(nk)
            free(nv)
            raise MemoryError()
        for i in range(cap):
            nk[i] = EMPTY
        mask = cap - 1
        self.hused = 0
        for i in range(oldcap):
            if oldk[i] != EMPTY and oldk[i] != TOMB:
                j = _mix(oldk[i]) & mask
                while nk[j] != EMPTY:
                    j = (j + 1) & mask
                nk[j] = oldk[i]
                nv[j] = oldv[i]
                self.hused += 1
        self.hkeys, self.hvals, self.hcap = nk, nv, cap
        free(oldk)
        free(oldv)
        return 0

    cdef int _hput(self, i64 oid, int node) except -1:
        cdef size_t mask, i
        cdef i64 k
        if (self.hused + 1) * 2 > self.hcap:
            self._rehash(self.hcap * 2 if <size_t>(self.count + 1) * 4 > self.hcap else self.hcap)
        mask = self.hcap - 1
        i = _mix(oid) & mask
        while True:
            k = self.hkeys[i]
            if k == EMPTY:
                self.hkeys[i] = oid
                self.hvals[i] = node
                self.hused += 1
                return 0
            if k == oid:
                self.hvals[i] = node
                return 0
            i = (i + 1) & mask

    # -- pools ------------------------------------------------------------------------------------
    cdef int _new_node(self) except -1:
        cdef int i, cap
        cdef Node* grown
        if self.free_node == -1:
            cap = self.ncap * 2 if self.ncap else 256
            grown = <Node*>realloc(self.nodes, cap * sizeof(Node))
            if grown == NULL:
                raise MemoryError()
            self.nodes = grown
            for i in range(self.ncap, cap):
                self.nodes[i].next = i + 1 if i + 1 < cap else -1
            self.free_node = self.ncap
            self.ncap = cap
        i = self.free_node
        self.free_node = self.nodes[i].next
        return i

    cdef int _new_level(self) except -1:
        cdef int i, cap
        cdef Level* grown
        if self.free_level == -1:
            cap = self.lcap * 2 if self.lcap else 64
            grown = <Level*>realloc(self.lv, cap * sizeof(Level))
            if grown == NULL:
                raise MemoryError()
            self.lv = grown
            for i in range(self.lcap, cap):
                self.lv[i].head = i + 1 if i + 1 < cap else -1
            self.free_level = self.lcap
            self.lcap = cap
        i = self.free_level
        self.free_level = self.lv[i].head
        return i

    # -- sorted level arrays ----------------------------------------------------------------------
    cdef inline int _lower(self, int s, i64 key) noexcept:
        cdef int lo = 0
        cdef int hi = self.nlev[s]
        cdef int mid
        cdef i64* keys = self.keys[s]
        # prices near the best are the common case: look at the top first
        if hi and keys[hi - 1] < key:
            return hi
        while lo < hi:
            mid = (lo + hi) >> 1
            if keys[mid] < key:
                lo = mid + 1
            else:
                hi = mid
        return lo

    cdef int _find_level(self, int s, i64 price) noexcept:
        cdef i64 key = price if s == 0 else -price
        cdef int pos = self._lower(s, key)
        if pos < self.nlev[s] and self.keys[s][pos] == key:
            return self.lidx[s][pos]
        return -1

    cdef int _drop_level(self, int s, i64 price) noexcept:
        """Remove an (empty) level from its side's array and free it."""
        cdef i64 key = price if s == 0 else -price
        cdef int n = self.nlev[s]
        cdef int pos
        cdef int li
        if n and self.keys[s][n - 1] == key:
            pos = n - 1
        else:
            pos = self._lower(s, key)
        li = self.lidx[s][pos]
        if pos < n - 1:
            memmove(&self.keys[s][pos], &self.keys[s][pos + 1], (n - 1 - pos) * sizeof(i64))
            memmove(&self.lidx[s][pos], &self.lidx[s][pos + 1], (n - 1 - pos) * sizeof(int))
        self.nlev[s] = n - 1
        self.lv[li].head = self.free_level
        self.free_level = li
        return 0

    # -- C-level operations (used by the venue's fast path) --------------------------------------
    cdef int _add(self, i64 oid, int s, i64 price, i64 quantity) except -1:
        cdef i64 key = price if s == 0 else -price
        cdef int pos = self._lower(s, key)
        cdef int n = self.nlev[s]
        cdef int li, ni, cap
        cdef i64* nk
        cdef int* ni_arr
        cdef Level* L
        cdef Node* N
        if pos < n and self.keys[s][pos] == key:
            li = self.lidx[s][pos]
        else:
            li = self._new_level()
            if n == self.scap[s]:
                cap = self.scap[s] * 2
                nk = <i64*>realloc(self.keys[s], cap * sizeof(i64))
                if nk == NULL:
                    raise MemoryError()
                self.keys[s] = nk
                ni_arr = <int*>realloc(self.lidx[s], cap * sizeof(int))
                if ni_arr == NULL:
                    raise MemoryError()
                self.lidx[s] = ni_arr
                self.scap[s] = cap
            if pos < n:
                memmove(&self.keys[s][pos + 1], &self.keys[s][pos], (n - pos) * sizeof(i64))
                memmove(&self.lidx[s][pos + 1], &self.lidx[s][pos], (n - pos) * sizeof(int))
            self.keys[s][pos] = key
            self.lidx[s][pos] = li
            self.nlev[s] = n + 1
            L = &self.lv[li]
            L.price = price
            L.quantity = 0
            L.count = 0
            L.head = -1
            L.tail = -1
        ni = self._new_node()
        self._hput(oid, ni)
        N = &self.nodes[ni]
        L = &self.lv[li]
        N.order_id = oid
        N.remaining = quantity
        N.level = li
        N.side = s
        N.next = -1
        N.prev = L.tail
        if L.tail == -1:
            L.head = ni
        else:
            self.nodes[L.tail].next = ni
        L.tail = ni
        L.quantity += quantity
        L.count += 1
        self.count += 1
        return 0

    cdef Py_ssize_t _match(self, int s, i64 limit, i64 quantity, i64 max_levels) except -1:
        """Fills into ``self.fills``; returns how many."""
        cdef int o = 1 - s
        cdef i64 used = 0
        cdef Py_ssize_t nf = 0
        cdef int li, ni
        cdef Level* L
        cdef Node* N
        cdef i64 price, rest
        cdef FillRec* grown
        while quantity > 0 and self.nlev[o] > 0:
            li = self.lidx[o][self.nlev[o] - 1]
            L = &self.lv[li]
            price = L.price
            if (price > limit) if s == 0 else (price < limit):
                break
            if used == max_levels:
                break
            used += 1
            while quantity > 0 and L.head != -1:
                if nf == self.fcap:
                    grown = <FillRec*>realloc(self.fills, self.fcap * 2 * sizeof(FillRec))
                    if grown == NULL:
                        raise MemoryError()
                    self.fills = grown
                    self.fcap *= 2
                ni = L.head
                N = &self.nodes[ni]
                rest = N.remaining
                if rest <= quantity:
                    quantity -= rest
                    L.quantity -= rest
                    L.count -= 1
                    self.fills[nf].order_id = N.order_id
                    self.fills[nf].price = price
                    self.fills[nf].quantity = rest
                    self.fills[nf].left = 0
                    nf += 1
                    L.head = N.next
                    if L.head == -1:
                        L.tail = -1
                    else:
                        self.nodes[L.head].prev = -1
                    self._hdel(N.order_id)
                    N.next = self.free_node
                    self.free_node = ni
                    self.count -= 1
                else:
                    rest -= quantity
                    N.remaining = rest
                    L.quantity -= quantity
                    self.fills[nf].order_id = N.order_id
                    self.fills[nf].price = price
                    self.fills[nf].quantity = quantity
                    self.fills[nf].left = rest
                    nf += 1
                    quantity = 0
            if L.count == 0:
                self.nlev[o] -= 1
                L.head = self.free_level
                self.free_level = li
        return nf

    cdef i64 _cancel(self, i64 oid) noexcept:
        cdef int ni = self._hdel(oid)
        cdef Node* N
        cdef Level* L
        cdef i64 rest
        if ni < 0:
            return 0
        N = &self.nodes[ni]
        L = &self.lv[N.level]
        rest = N.remaining
        L.quantity -= rest
        L.count -= 1
        if N.prev == -1:
            L.head = N.next
        else:
            self.nodes[N.prev].next = N.next
        if N.next == -1:
            L.tail = N.prev
        else:
            self.nodes[N.next].prev = N.prev
        if L.count == 0:
            self._drop_level(N.side, L.price)
        N.next = self.free_node
        self.free_node = ni
        self.count -= 1
        return rest

    cdef inline i64 _best(self, int s) noexcept:
        cdef int n = self.nlev[s]
        if n == 0:
            return 0
        return self.lv[self.lidx[s][n - 1]].price

    cdef inline void _level(self, int s, i64 price, i64* q, i64* n) noexcept:
        cdef int li = self._find_level(s, price)
        if li < 0:
            q[0] = 0
            n[0] = 0
        else:
            q[0] = self.lv[li].quantity
            n[0] = self.lv[li].count

    # -- the Book interface -----------------------------------------------------------------------
    def add(self, order_id, side, price, quantity):
        self._add(order_id, 0 if side == "B" else 1, price, quantity)

    def match(self, side, limit, quantity, max_levels):
        cdef Py_ssize_t nf = self._match(0 if side == "B" else 1, limit, quantity, max_levels)
        cdef Py_ssize_t i
        return [(self.fills[i].order_id, self.fills[i].price, self.fills[i].quantity, self.fills[i].left) for i in range(nf)]

    def cancel(self, order_id):
        return self._cancel(order_id)

    def reduce(self, order_id, quantity):
        cdef int ni = self._hget(order_id)
        cdef i64 q = quantity
        if ni < 0:
            raise KeyError(order_id)
        self.lv[self.nodes[ni].level].quantity -= self.nodes[ni].remaining - q
        self.nodes[ni].remaining = q

    def remaining(self, order_id):
        cdef int ni = self._hget(order_id)
        return 0 if ni < 0 else self.nodes[ni].remaining

    def best_bid(self):
        return self._best(0)

    def best_ask(self):
        return self._best(1)

    def level(self, side, price):
        cdef i64 q, n
        self._level(0 if side == "B" else 1, price, &q, &n)
        return (q, n)

    def levels(self, side):
        cdef int s = 0 if side == "B" else 1
        cdef int i
        cdef Level* L
        out = []
        for i in range(self.nlev[s] - 1, -1, -1):
            L = &self.lv[self.lidx[s][i]]
            out.append((L.price, L.quantity, L.count))
        return out

    def orders(self):
        cdef int s, i, ni
        cdef Level* L
        out = []
        for s in range(2):
            name = "B" if s == 0 else "S"
            for i in range(self.nlev[s] - 1, -1, -1):
                L = &self.lv[self.lidx[s][i]]
                ni = L.head
                while ni != -1:
                    out.append((self.nodes[ni].order_id, name, L.price, self.nodes[ni].remaining))
                    ni = self.nodes[ni].next
        return out

    def __len__(self):
        return self.count


cdef struct CSlot:
    Py_hash_t hash    # 0: empty (a real hash of 0 is stored as 1)
    Py_ssize_t idx    # position in the insertion-ordered columns


cdef inline Py_hash_t _pair_hash(str participant, str coid) except? -1:
    """Hash of the key ``(participant, client_order_id)`` without building it: the participant's
    hash is cached on its (long-lived) string, the client order id's is computed once."""
    cdef unsigned long long h = <unsigned long long>hash(participant) * <unsigned long long>1000003
    h ^= <unsigned long long>hash(coid)
    h ^= h >> 29
    return 1 if <Py_hash_t>h == 0 else <Py_hash_t>h


cdef class ClientOrderIndex:
    """The venue's client-order-id index (``(participant, client_order_id)`` ->
    ``(order_id, PlaceOrder, channel)``) with the dict methods `_venue` uses. Entries sit in
    insertion-ordered columns (participants, client order ids, commands, channels as lists; order
    ids as a C array) and an open-addressing table of (hash, position) finds them, so a lookup of
    a new id touches one table slot, no key tuple or string is built, and a cancel by client order
    id reads the order id from a C array (a dict of a million entries chases three or four
    pointers through cold memory per lookup). The ``(order_id, command, channel)`` tuples are
    built when asked for."""

    cdef CSlot* slots
    cdef size_t cap
    cdef list parts_
    cdef list coids_
    cdef list cmds_
    cdef list channels_
    cdef i64* oids
    cdef Py_ssize_t ocap

    def __cinit__(self):
        self.cap = 0
        self.slots = NULL
        self.oids = NULL
        self.ocap = 0
        self._reset()

    def __dealloc__(self):
        free(self.slots)
        free(self.oids)

    cdef int _reset(self) except -1:
        free(self.slots)
        free(self.oids)
        self.slots = NULL
        self.cap = 0
        self.oids = <i64*>malloc(1024 * sizeof(i64))
        if self.oids == NULL:
            raise MemoryError()
        self.ocap = 1024
        self.parts_ = []
        self.coids_ = []
        self.cmds_ = []
        self.channels_ = []
        self._alloc(2048)
        return 0

    cdef int _alloc(self, size_t cap) except -1:
        cdef CSlot* slots = <CSlot*>malloc(cap * sizeof(CSlot))
        cdef size_t i, j, mask = cap - 1
        if slots == NULL:
            raise MemoryError()
        for i in range(cap):
            slots[i].hash = 0
        for i in range(self.cap):
            if self.slots[i].hash:
                j = (<size_t>self.slots[i].hash) & mask
                while slots[j].hash:
                    j = (j + 1) & mask
                slots[j] = self.slots[i]
        free(self.slots)
        self.slots = slots
        self.cap = cap
        return 0

    cdef Py_ssize_t _find(self, str participant, str coid, Py_hash_t h, size_t* pos) except -2:
        """Position of the key in the columns or -1 (then ``pos`` is the free slot to use)."""
        cdef size_t mask = self.cap - 1
        cdef size_t i = (<size_t>h) & mask
        cdef CSlot* slot
        while True:
            slot = &self.slots[i]
            if slot.hash == 0:
                pos[0] = i
                return -1
            if slot.hash == h and <str>self.coids_[slot.idx] == coid and <str>self.parts_[slot.idx] == participant:
                return slot.idx
            i = (i + 1) & mask

    cdef inline void _prefetch(self, Py_hash_t h) noexcept:
        """Start loading the table slot of hash ``h`` (the fast path does its checks meanwhile:
        with a million ids the slot is nearly always a cache miss)."""
        __builtin_prefetch(&self.slots[(<size_t>h) & (self.cap - 1)])

    cdef int _insert_new(self, str participant, str coid, object cmd, object channel, i64 order_id, Py_hash_t h) except -1:
        """Insert the key (its hash ``h`` from `_pair_hash`) if absent (returns 1), else leave
        everything as it is (returns 0)."""
        cdef size_t pos
        cdef Py_ssize_t n = len(self.coids_)
        cdef i64* grown
        if self._find(participant, coid, h, &pos) >= 0:
            return 0
        if <size_t>(n + 1) * 2 > self.cap:
            self._alloc(self.cap * 2)
            self._find(participant, coid, h, &pos)
        if n == self.ocap:
            grown = <i64*>realloc(self.oids, self.ocap * 2 * sizeof(i64))
            if grown == NULL:
                raise MemoryError()
            self.oids = grown
            self.ocap *= 2
        self.slots[pos].hash = h
        self.slots[pos].idx = n
        self.oids[n] = order_id
        self.parts_.append(participant)
        self.coids_.append(coid)
        self.cmds_.append(cmd)
        self.channels_.append(channel)
        return 1

    cdef i64 _order_id(self, str participant, str coid) except -2:
        """Order id of the key, -1 when unknown."""
        cdef size_t pos
        cdef Py_ssize_t i = self._find(participant, coid, _pair_hash(participant, coid), &pos)
        return -1 if i < 0 else self.oids[i]

    cdef tuple _entry(self, Py_ssize_t i):
        return (self.oids[i], self.cmds_[i], self.channels_[i])

    cdef Py_ssize_t _lookup(self, object key) except -2:
        cdef size_t pos
        if type(key) is not tuple or len(<tuple>key) != 2:
            return -1
        participant, coid = key
        if type(participant) is not str or type(coid) is not str:
            return -1
        return self._find(participant, coid, _pair_hash(participant, coid), &pos)

    # -- the dict methods `_venue` uses (keys are ``(participant, client_order_id)``) ----------
    def get(self, key, default=None):
        cdef Py_ssize_t i = self._lookup(key)
        return default if i < 0 else self._entry(i)

    def __getitem__(self, key):
        cdef Py_ssize_t i = self._lookup(key)
        if i < 0:
            raise KeyError(key)
        return self._entry(i)

    def __setitem__(self, key, value):
        cdef Py_ssize_t i
        cdef str participant
        cdef str coid
        participant, coid = key
        order_id, cmd, channel = value
        i = self._lookup(key)
        if i >= 0:
            self.oids[i] = order_id
            self.cmds_[i] = cmd
            self.channels_[i] = channel
        else:
            self._insert_new(participant, coid, cmd, channel, order_id, _pair_hash(participant, coid))

    def __contains__(self, key):
        return self._lookup(key) >= 0

    def __len__(self):
        return len(self.coids_)

    def __iter__(self):
        return iter(self.keys())

    def keys(self):
        return list(zip(self.parts_, self.coids_))

    def values(self):
        cdef Py_ssize_t i
        return [self._entry(i) for i in range(len(self.coids_))]

    def items(self):
        cdef Py_ssize_t i
        return [((self.parts_[i], self.coids_[i]), self._entry(i)) for i in range(len(self.coids_))]

    def clear(self):
        self._reset()


# refusal kinds: the same integers as `_refusals.R_*` (checked below at import)
cdef enum:
    R_NOT_IN_SESSION = 1
    R_INSTRUMENT_CLOSED = 2
    R_QUANTITY_RANGE = 3
    R_ODD_LOT = 4
    R_ORDER_SIZE = 5
    R_INSTRUMENT_FULL = 6
    R_PRICE_NOT_POSITIVE = 7
    R_OUTSIDE_TABLE = 8
    R_OFF_GRID = 9
    R_NOMINAL = 10
    R_THROUGH_BEST = 11
    R_BEYOND_QUEUES = 12
    R_TOO_FAR = 13
    R_QUEUE_FULL = 14
    R_UNKNOWN_CLIENT_ORDER = 15
    R_NOT_LIVE = 16

from lionrock.trading._refusals import KINDS as _KINDS

_COMPILED_KINDS = {
    "R_NOT_IN_SESSION": R_NOT_IN_SESSION, "R_INSTRUMENT_CLOSED": R_INSTRUMENT_CLOSED, "R_QUANTITY_RANGE": R_QUANTITY_RANGE,
    "R_ODD_LOT": R_ODD_LOT, "R_ORDER_SIZE": R_ORDER_SIZE, "R_INSTRUMENT_FULL": R_INSTRUMENT_FULL,
    "R_PRICE_NOT_POSITIVE": R_PRICE_NOT_POSITIVE, "R_OUTSIDE_TABLE": R_OUTSIDE_TABLE, "R_OFF_GRID": R_OFF_GRID,
    "R_NOMINAL": R_NOMINAL, "R_THROUGH_BEST": R_THROUGH_BEST, "R_BEYOND_QUEUES": R_BEYOND_QUEUES, "R_TOO_FAR": R_TOO_FAR,
    "R_QUEUE_FULL": R_QUEUE_FULL, "R_UNKNOWN_CLIENT_ORDER": R_UNKNOWN_CLIENT_ORDER, "R_NOT_LIVE": R_NOT_LIVE,
}
if _COMPILED_KINDS != _KINDS:
    raise ImportError("the compiled venue's refusal kinds differ from lionrock.trading._refusals")

cdef str _LIMIT_S = "LIMIT"
cdef str _ENHANCED_S = "ENHANCED_LIMIT"
cdef str _SPECIAL_S = "SPECIAL_LIMIT"
cdef str _AT_AUCTION_S = "AT_AUCTION"
cdef str _AT_AUCTION_LIMIT_S = "AT_AUCTION_LIMIT"
cdef tuple _TYPE_NAMES = (_LIMIT_S, _ENHANCED_S, _SPECIAL_S, _AT_AUCTION_S, _AT_AUCTION_LIMIT_S)


cdef inline int _order_type_code(object otype_s):
    """0 LIMIT, 1 ENHANCED_LIMIT, 2 SPECIAL_LIMIT, 3 AT_AUCTION, 4 AT_AUCTION_LIMIT, -1 other."""
    if otype_s == _LIMIT_S:
        return 0
    if otype_s == _ENHANCED_S:
        return 1
    if otype_s == _SPECIAL_S:
        return 2
    if otype_s == _AT_AUCTION_S:
        return 3
    if otype_s == _AT_AUCTION_LIMIT_S:
        return 4
    return -1


cdef object _MISSING = object()
cdef object _FALSE = False  # a Python object: `<PyObject*>False` would be the C constant 0
cdef str _CLIENT = "CLIENT"
cdef str _BUY_S = "B"
cdef str _SELL_S = "S"


@cython.no_gc
cdef class Order:
    """A live order (same fields as `_venue._Order`; holds strings and ints only, so it is not
    tracked by the cycle collector)."""

    cdef public object order_id
    cdef public object instrument
    cdef public object participant
    cdef public object account
    cdef public object client_order_id
    cdef public object side
    cdef public object order_type
    cdef public object price
    cdef public object quantity  # filled + remaining (changes on amend)
    cdef public object channel

    def __init__(self, order_id, cmd, channel):
        self.order_id = order_id
        self.instrument = cmd.instrument
        self.participant = cmd.participant
        self.account = cmd.account
        self.client_order_id = cmd.client_order_id
        self.side = cmd.side
        self.order_type = cmd.order_type
        self.price = cmd.price
        self.quantity = cmd.quantity
        self.channel = channel

    def to_list(self):
        return [self.order_id, self.instrument, self.participant, self.account, self.client_order_id, self.side, self.order_type, self.price, self.quantity, self.channel]


cdef class Instrument:
    """Static listing data plus the day's state of one instrument (same fields as
    `_venue._Instrument`)."""

    cdef public object auction_done, book, closed, closing_auction, code, counter_of, currency
    cdef public object iep, name, nominal_log, short_sell, stage1, stage2, trade_log, vcm_class, vcm_sessions
    # numbers as C integers (Python sees ints, as with the pure-Python record)
    cdef public i64 board_lot, day_high, day_low, day_open, day_volume, last_price, md_seq
    cdef public i64 prev_close, reference, vcm_lo, vcm_hi, vcm_until

    def __init__(self, cmd, book):
        self.code = cmd.instrument
        self.board_lot = cmd.board_lot
        self.currency = cmd.currency
        self.vcm_class = cmd.vcm_class
        self.counter_of = cmd.counter_of
        self.name = cmd.name
        self.closing_auction = cmd.closing_auction
        self.short_sell = cmd.short_sell_designated
        self.prev_close = cmd.nominal_price
        self.book = book
        self.md_seq = 0
        self.new_day()

    def new_day(self):
        self.last_price = 0
        self.day_open = self.day_high = self.day_low = self.day_volume = 0
        self.closed = False
        self.auction_done = False
        self.iep = None
        self.reference = 0
        self.stage1 = (0, 0)
        self.stage2 = (0, 0)
        self.trade_log = deque()
        self.nominal_log = []
        self.vcm_until = 0
        self.vcm_lo = self.vcm_hi = 0
        self.vcm_sessions = []


cdef class VenueCore:
    """Base of `TradingContext` when compiled: the hot state as typed fields and the fast path."""

    cdef public object timers
    cdef public object timer_index
    cdef public str phase
    cdef public dict instruments
    cdef public dict orders
    cdef public object client_orders  # ClientOrderIndex with the fast path, else a dict
    cdef public object next_order_id
    cdef public object next_trade_id
    cdef public object grid
    cdef public object checks
    cdef public object limits
    cdef public object auction_limits
    cdef public object vcm
    cdef public object order_limits
    cdef public bint fast_path
    # rules cached as C values, refreshed when the rule objects change
    cdef object _grid_src
    cdef object _checks_src
    cdef object _limits_src
    cdef object _auction_src
    cdef object _order_limits_src
    cdef i64 max_lots, max_queue
    # the tape being written by `_execute_batch` (its buffer held as a pointer while C writes)
    cdef object _tape
    cdef TapeRec* _tp
    cdef Py_ssize_t _tcount, _tcap
    cdef list _trefs
    cdef i64 g_min, g_max
    cdef int nbands
    cdef i64 uppers[64]
    cdef i64 spreads[64]
    cdef i64 lowers[64]
    cdef i64 k_nominal, passive_spreads, max_queues
    cdef i64 max_coid, max_qty, max_orders, cas_window_ns

    cdef int _refresh(self) except -1:
        cdef int i
        if self.grid is not self._grid_src:
            uppers, spreads = list(self.grid.uppers), list(self.grid.spreads)
            if len(uppers) > 64:
                raise ValueError("spread table has more than 64 bands")
            self.nbands = len(uppers)
            self.g_min = self.grid.min_price
            self.g_max = self.grid.max_price
            for i in range(self.nbands):
                self.uppers[i] = uppers[i]
                self.spreads[i] = spreads[i]
                self.lowers[i] = self.g_min if i == 0 else uppers[i - 1]
            self._grid_src = self.grid
        if self.checks is not self._checks_src:
            self.k_nominal = self.checks.nominal_multiple
            self.passive_spreads = self.checks.passive_max_spreads
            self.max_queues = self.checks.max_price_queues
            self._checks_src = self.checks
        if self.limits is not self._limits_src:
            self.max_coid = self.limits.max_client_order_id_length
            self.max_qty = self.limits.max_order_quantity
            self.max_orders = self.limits.max_orders_per_instrument
            self._limits_src = self.limits
        if self.order_limits is not self._order_limits_src:
            self.max_lots = self.order_limits.max_board_lots
            self.max_queue = self.order_limits.max_orders_per_price_queue
            self._order_limits_src = self.order_limits
        if self.auction_limits is not self._auction_src:
            self.cas_window_ns = self.auction_limits.cas_reference_window_s * NS
            self._auction_src = self.auction_limits
        return 0

    # -- grid arithmetic (as `_grid.Grid`) ------------------------------------------------------
    cdef inline int _band(self, i64 price) noexcept:
        cdef int i = 0
        while i < self.nbands and self.uppers[i] < price:
            i += 1
        return i

    cdef inline bint _on_grid(self, i64 price) noexcept:
        cdef int b
        if price < self.g_min or price > self.g_max:
            return False
        b = self._band(price)
        if b >= self.nbands:
            return False
        return price % self.spreads[b] == 0

    cdef i64 _step(self, i64 price, i64 n) noexcept:
        cdef int i = self._band(price)
        cdef i64 s, room
        if n >= 0:
            while n > 0 and i < self.nbands:
                s = self.spreads[i]
                room = (self.uppers[i] - price) // s
                if n <= room:
                    return price + n * s
                price, n, i = self.uppers[i], n - room, i + 1
            return price
        n = -n
        while n > 0 and i >= 0:
            s = self.spreads[i]
            room = (price - self.lowers[i]) // s
            if n <= room:
                return price - n * s
            price, n, i = self.lowers[i], n - room, i - 1
        return price

    # -- shared pieces ----------------------------------------------------------------------------
    cdef inline bint _clock_ok(self, i64 at_ns) except -1:
        cdef list timers = self.timers
        cdef Py_ssize_t ti = self.timer_index
        if ti < len(timers):
            return <i64>timers[ti][0] > at_ns
        return True

    cdef inline i64 _nominal(self, Instrument inst, FastBook book) except? -1:
        """Continuous-session nominal price (`TradingContext.nominal`)."""
        cdef i64 base = inst.last_price or inst.prev_close
        cdef i64 bid = book._best(0)
        cdef i64 ask
        if bid and bid > base:
            return bid
        ask = book._best(1)
        if ask and ask < base:
            return ask
        return base

    cdef int _note_nominal(self, Instrument inst, FastBook book, object at_obj, i64 at_ns) except -1:
        cdef i64 value = self._nominal(inst, book)
        cdef list log = inst.nominal_log
        cdef Py_ssize_t keep
        if log:
            last = <tuple?>log[-1]
            if <i64>last[1] == value:
                return 0
            if <i64>last[0] == at_ns:
                log[-1] = (at_obj, value)
            else:
                log.append((at_obj, value))
        else:
            log.append((at_obj, value))
        if len(log) > 64:
            keep = bisect_right(log, (at_ns - self.cas_window_ns, 1 << 62)) - 1
            if keep > 0:
                del log[:keep]
        return 0

    # -- the fast path ----------------------------------------------------------------------------
    def execute(self, command, stamp):
        """`Context.execute`: the fast path when it applies, else `execute_python` (the
        `TradingContext` code)."""
        cdef object events = None
        if self.fast_path and type(stamp) is _Stamp:
            kind = type(command)
            if kind is _PlaceOrder:
                events = self._fast_place(command, stamp)
                if type(events) is _RejectType:
                    raise events  # a refusal decided in C, its text by `_refusals.Refusals.make`
            elif kind is _CancelOrder:
                events = self._fast_cancel(command, stamp)
                if type(events) is _RejectType:
                    # not a live order (typically filled already): the rejection `_find_order`
                    # raises at this point of the Python path (the clock check has passed and
                    # `_cancel` looks the order up first), built by the same functions
                    raise events
        if events is None:
            return self.execute_python(command, stamp)
        return events

    def fast_execute(self, command, stamp):
        """Events of ``command`` if the fast path handled it, else None (state unchanged)."""
        if not self.fast_path or type(stamp) is not _Stamp:
            return None
        kind = type(command)
        if kind is _PlaceOrder:
            events = self._fast_place(command, stamp)
            return None if type(events) is _RejectType else events
        if kind is _CancelOrder:
            events = self._fast_cancel(command, stamp)
            return None if type(events) is _RejectType else events
        return None

    cdef int _check_place(self, Instrument inst, FastBook book, str phase, int buy, int otype, i64 price, i64 qty, object at_obj, i64* fig) except -2:
        """The checks of `_place` for an order the fast path may take (the instrument, parties,
        client order id, side and type already known good), in the Python path's order: 0 when
        they pass, a refusal kind (`_refusals.R_*`, figures in ``fig[0..3]``) when the Python path
        would refuse it, -1 when the Python path must decide (another session's logic, VCM, ...)."""
        cdef i64 nominal, opposite, same, base, bound, lo, hi, q, n
        if otype >= 3 and (phase == "CTS_MORNING" or phase == "CTS_AFTERNOON"):
            return R_NOT_IN_SESSION
        if otype < 3 and phase != "CTS_MORNING" and phase != "CTS_AFTERNOON":
            return R_NOT_IN_SESSION  # no other phase accepts a continuous-session type
        if otype >= 3:
            return -1
        if inst.closed:
            return R_INSTRUMENT_CLOSED
        if inst.board_lot <= 0:
            return -1
        fig[0] = qty
        fig[1] = inst.board_lot
        if qty <= 0 or qty > self.max_qty:
            return R_QUANTITY_RANGE
        if qty % inst.board_lot:
            return R_ODD_LOT
        if qty > self.max_lots * inst.board_lot:
            return R_ORDER_SIZE
        if book.count >= self.max_orders:
            return R_INSTRUMENT_FULL
        fig[0] = price
        if price <= 0:
            return R_PRICE_NOT_POSITIVE
        if price < self.g_min or price > self.g_max:
            return R_OUTSIDE_TABLE
        if not self._on_grid(price):
            return R_OFF_GRID
        nominal = self._nominal(inst, book)
        if price >= self.k_nominal * nominal or price * self.k_nominal <= nominal:
            fig[1] = nominal
            return R_NOMINAL
        opposite = book._best(1 if buy else 0)
        if otype == 0 and opposite and ((price > opposite) if buy else (price < opposite)):
            fig[0] = opposite
            return R_THROUGH_BEST
        if otype == 1 and opposite:
            bound = self._step(opposite, (self.max_queues - 1) if buy else -(self.max_queues - 1))
            if (price > bound) if buy else (price < bound):
                fig[0] = opposite
                fig[1] = bound
                return R_BEYOND_QUEUES
        if otype != 2:
            same = book._best(0 if buy else 1)
            base = same or nominal
            bound = self._step(base, -self.passive_spreads if buy else self.passive_spreads)
            if (price < bound) if buy else (price > bound):
                fig[1] = base
                fig[2] = bound
                fig[3] = 1 if same else 0
                return R_TOO_FAR
        if inst.vcm_until:
            return -1
        if inst.vcm_class:
            band = self._vcm_band(inst, at_obj)
            if band is not None and opposite and ((price >= opposite) if buy else (price <= opposite)):
                # VCM monitoring is on and the order would trade: every trade price lies between
                # the best opposite price and the order's limit, so when both are inside the band
                # nothing can trigger and `_continuous` would match exactly as without a band;
                # otherwise the Python path decides (clamp, trigger, cooling-off)
                if not _as_i64(band[0], &lo) or not _as_i64(band[1], &hi):
                    return -1
                if not lo <= opposite <= hi or ((price > hi) if buy else (price < lo)):
                    return -1
        book._level(0 if buy else 1, price, &q, &n)
        if n >= self.max_queue:
            fig[1] = n
            return R_QUEUE_FULL
        return 0

    cdef object _fast_place(self, cmd, stamp):
        cdef PyObject* ev[16]
        cdef i64 fig[4]
        cdef int refusal
        cdef ClientOrderIndex index
        cdef Py_hash_t h
        cdef object fprice_obj, fq_obj, left_obj, fleft_obj, md_obj
        cdef i64 at_ns, price, qty, nominal, opposite, same, base, bound, max_levels, remaining, left
        cdef i64 fq, fleft, fprice, last_price, q, n, bq, aq, bid, ask, oid, lo, hi
        cdef int buy, s, otype
        cdef Py_ssize_t nf, i
        cdef Instrument inst
        cdef FastBook book
        cdef Order order, resting
        cdef str phase = self.phase
        at_obj = _get(stamp, ST_AT_NS)
        if not _as_i64(at_obj, &at_ns):
            return None
        if not self._clock_ok(at_ns):
            return None
        instrument = _get(cmd, PO_INSTRUMENT)
        inst_obj = self.instruments.get(instrument)
        if type(inst_obj) is not Instrument:
            return None
        inst = <Instrument>inst_obj
        if type(inst.book) is not FastBook:
            return None
        book = <FastBook>inst.book
        self._refresh()
        participant = _get(cmd, PO_PARTICIPANT)
        account = _get(cmd, PO_ACCOUNT)
        coid = _get(cmd, PO_COID)
        side = _get(cmd, PO_SIDE)
        otype_s = _get(cmd, PO_TYPE)
        channel = _get(cmd, PO_CHANNEL)
        quantity = _get(cmd, PO_QUANTITY)
        price_obj = _get(cmd, PO_PRICE)
        if type(participant) is not str or type(account) is not str or type(coid) is not str or type(channel) is not str:
            return None
        if _get(cmd, PO_SHORT_SELL) is not _FALSE:
            return None  # a short sale (or a malformed flag): the Python path checks it
        if not participant or not account:
            return None
        if not 0 < len(<str>coid) <= self.max_coid:
            return None
        if type(self.client_orders) is not ClientOrderIndex:
            return None
        index = <ClientOrderIndex>self.client_orders
        h = _pair_hash(participant, coid)
        index._prefetch(h)
        if side == "B":
            buy = 1
        elif side == "S":
            buy = 0
        else:
            return None
        otype = _order_type_code(otype_s)
        if otype < 0:
            return None
        if not _as_i64(quantity, &qty) or not _as_i64(price_obj, &price):
            return None
        refusal = self._check_place(inst, book, phase, buy, otype, price, qty, at_obj, fig)
        if refusal < 0:
            return None
        if refusal > 0:
            if index._order_id(participant, coid) >= 0:
                return None  # a retry of a known client order id: the Python path answers it
            return self.refusals().make(refusal, inst.code, side, otype_s, fig[0], fig[1], fig[2], fig[3])
        order_id = self.next_order_id
        if not _as_i64(order_id, &oid):
            return None
        if not index._insert_new(participant, coid, cmd, channel, oid, h):
            return None  # a retry of a known client order id: the Python path answers it
        # -- accepted: from here on nothing may fail
        self.next_order_id = order_id + 1
        code = inst.code
        ev[0] = <PyObject*>order_id
        ev[1] = <PyObject*>code
        ev[2] = <PyObject*>participant
        ev[3] = <PyObject*>account
        ev[4] = <PyObject*>coid
        ev[5] = <PyObject*>side
        ev[6] = <PyObject*>otype_s
        ev[7] = <PyObject*>price_obj
        ev[8] = <PyObject*>quantity
        ev[9] = <PyObject*>channel
        ev[10] = <PyObject*>_FALSE
        events = [_make(&L_ACCEPTED, ev)]
        s = 0 if buy else 1
        max_levels = 1 if otype == 0 else self.max_queues
        nf = book._match(s, price, qty, max_levels)
        left = qty
        bids = []
        asks = []
        touched = asks if buy else bids
        if nf:
            orders = self.orders
            currency = inst.currency
            trade_log = inst.trade_log
            fprice = -1
            for i in range(nf):
                fq = book.fills[i].quantity
                fleft = book.fills[i].left
                fprice = book.fills[i].price
                left -= fq
                rid = book.fills[i].order_id
                if fleft:
                    resting = <Order?>orders[rid]
                else:
                    resting = <Order?>orders.pop(rid)
                inst.md_seq += 1
                trade_id = self.next_trade_id
                # the trade price is the resting order's own price: its object serves
                fprice_obj = resting.price if type(resting.price) is int and <i64>resting.price == fprice else _int(fprice)
                fq_obj = _int(fq)
                left_obj = _int(left)
                fleft_obj = _int(fleft)
                md_obj = inst.md_seq
                ev[0] = <PyObject*>code
                ev[1] = <PyObject*>trade_id
                ev[2] = <PyObject*>fprice_obj
                ev[3] = <PyObject*>fq_obj
                ev[4] = <PyObject*>currency
                ev[11] = <PyObject*>side
                ev[14] = <PyObject*>md_obj
                if buy:
                    ev[5] = <PyObject*>account
                    ev[6] = <PyObject*>participant
                    ev[7] = <PyObject*>order_id
                    ev[8] = <PyObject*>resting.account
                    ev[9] = <PyObject*>resting.participant
                    ev[10] = <PyObject*>resting.order_id
                    ev[12] = <PyObject*>left_obj
                    ev[13] = <PyObject*>fleft_obj
                else:
                    ev[5] = <PyObject*>resting.account
                    ev[6] = <PyObject*>resting.participant
                    ev[7] = <PyObject*>resting.order_id
                    ev[8] = <PyObject*>account
                    ev[9] = <PyObject*>participant
                    ev[10] = <PyObject*>order_id
                    ev[12] = <PyObject*>fleft_obj
                    ev[13] = <PyObject*>left_obj
                events.append(_make(&L_TRADE, ev))
                self.next_trade_id = trade_id + 1
                if not inst.day_volume:
                    inst.day_open = inst.day_high = inst.day_low = fprice
                if fprice > inst.day_high:
                    inst.day_high = fprice
                if fprice < inst.day_low:
                    inst.day_low = fprice
                inst.day_volume += fq
                inst.last_price = fprice
                if trade_log:
                    last = <tuple?>trade_log[-1]
                    if <i64>last[0] == at_ns:
                        if <i64>last[1] != fprice:
                            trade_log[-1] = (at_obj, fprice_obj)
                    else:
                        trade_log.append((at_obj, fprice_obj))
                else:
                    trade_log.append((at_obj, fprice_obj))
            # touched opposite levels, best first (= the depth event's sort order), each once
            last_price = -1
            for i in range(nf):
                fprice = book.fills[i].price
                if fprice != last_price:
                    book._level(1 - s, fprice, &q, &n)
                    touched.append((_int(fprice), _int(q), _int(n)))
                    last_price = fprice
        remaining = left
        if remaining:
            if otype == 2:
                events.append(OrderCancelled(order_id=order_id, instrument=code, participant=participant, client_order_id=coid, remaining=remaining, reason="SPECIAL_LIMIT_REMAINDER"))  # rare: the constructor
            else:  # the order rests: only now does it need its record
                order = Order.__new__(Order)
                order.order_id = order_id
                order.instrument = instrument
                order.participant = participant
                order.account = account
                order.client_order_id = coid
                order.side = side
                order.order_type = otype_s
                order.price = price_obj
                order.quantity = quantity
                order.channel = channel
                self.orders[order_id] = order
                book._add(oid, s, price, remaining)
                book._level(s, price, &q, &n)
                (bids if buy else asks).append((price_obj, _int(q), _int(n)))
        if nf or (remaining and otype != 2):
            self._publish(inst, book, bids, asks, events)
        self._note_nominal(inst, book, at_obj, at_ns)
        return events

    cdef int _publish(self, Instrument inst, FastBook book, list bids, list asks, list events) except -1:
        cdef i64 bid = book._best(0)
        cdef i64 ask = book._best(1)
        cdef i64 bq = 0, aq = 0, n
        if bid:
            book._level(0, bid, &bq, &n)
        if ask:
            book._level(1, ask, &aq, &n)
        cdef PyObject* ev[8]
        cdef object md_obj, bid_obj, bq_obj, ask_obj, aq_obj, code
        inst.md_seq += 1
        md_obj = inst.md_seq
        bid_obj = _int(bid)
        bq_obj = _int(bq)
        ask_obj = _int(ask)
        aq_obj = _int(aq)
        code = inst.code
        ev[0] = <PyObject*>code
        ev[1] = <PyObject*>md_obj
        ev[2] = <PyObject*>bid_obj
        ev[3] = <PyObject*>bq_obj
        ev[4] = <PyObject*>ask_obj
        ev[5] = <PyObject*>aq_obj
        ev[6] = <PyObject*>bids
        ev[7] = <PyObject*>asks
        events.append(_make(&L_DEPTH, ev))
        return 0

    cdef object _fast_cancel(self, cmd, stamp):
        cdef PyObject* ev[6]
        cdef object left_obj, code
        cdef i64 at_ns, oid, left, price, q, n
        cdef Instrument inst
        cdef FastBook book
        cdef Order order
        cdef str phase = self.phase
        at_obj = _get(stamp, ST_AT_NS)
        if not _as_i64(at_obj, &at_ns):
            return None
        if phase != "CTS_MORNING" and phase != "CTS_AFTERNOON":
            return None
        if not self._clock_ok(at_ns):
            return None
        participant = _get(cmd, CO_PARTICIPANT)
        order_id = _get(cmd, CO_ORDER_ID)
        if type(participant) is not str or type(order_id) is not int:
            return None
        if not order_id:
            coid = _get(cmd, CO_COID)
            if type(coid) is not str:
                return None
            if type(self.client_orders) is not ClientOrderIndex:
                return None
            oid = (<ClientOrderIndex>self.client_orders)._order_id(participant, coid)
            if oid < 0:
                return _unknown_client_order(participant, coid)
            order_id = oid
        order_obj = self.orders.get(order_id)
        if order_obj is None:
            return _order_not_live(order_id)
        if type(order_obj) is not Order:
            return None
        order = <Order>order_obj
        if order.participant != participant or order.instrument != _get(cmd, CO_INSTRUMENT):
            return None
        if order.order_type == "AT_AUCTION":
            return None
        inst_obj = self.instruments.get(order.instrument)
        if type(inst_obj) is not Instrument:
            return None
        inst = <Instrument>inst_obj
        if type(inst.book) is not FastBook:
            return None
        book = <FastBook>inst.book
        if not _as_i64(order.price, &price) or not _as_i64(order_id, &oid):
            return None
        self._refresh()
        # -- from here on nothing may fail
        left = book._cancel(oid)
        del self.orders[order_id]
        left_obj = _int(left)
        code = inst.code
        ev[0] = <PyObject*>order_id
        ev[1] = <PyObject*>code
        ev[2] = <PyObject*>participant
        ev[3] = <PyObject*>order.client_order_id
        ev[4] = <PyObject*>left_obj
        ev[5] = <PyObject*>_CLIENT
        events = [_make(&L_CANCELLED, ev)]
        bids = []
        asks = []
        if order.side == "B":
            book._level(0, price, &q, &n)
            bids.append((order.price, _int(q), _int(n)))
        else:
            book._level(1, price, &q, &n)
            asks.append((order.price, _int(q), _int(n)))
        self._publish(inst, book, bids, asks, events)
        self._note_nominal(inst, book, at_obj, at_ns)
        return events


    # -- the batch path ---------------------------------------------------------------------------
    def _execute_batch(self, batch, tape, Py_ssize_t first_seq, at_ns):
        """Run the commands of ``batch`` (a `lionrock.trading.batch.OrderBatch`), command ``i``
        stamped ``(first_seq + i, at_ns)``, writing what each does into ``tape`` (a
        `lionrock.trading.batch.Tape`): continuous-session orders and cancels, and the common
        refusals, are decided here in C without building an event or raising; any other command
        (another session, VCM, a retry, a short sale, ...) runs `execute_python` and its events or
        rejection are kept as objects on the tape. The state afterwards is the one the commands
        submitted one by one through `execute` leave."""
        cdef const unsigned char[::1] kinds = batch.kind
        cdef const unsigned char[::1] sides = batch.side
        cdef const unsigned char[::1] types = batch.order_type
        cdef const unsigned char[::1] shorts = batch.short_sell
        cdef const int64_t[::1] prices = batch.price
        cdef const int64_t[::1] quantities = batch.quantity
        cdef const int64_t[::1] order_ids = batch.order_id
        cdef const int32_t[::1] instruments = batch.instrument
        cdef const int32_t[::1] participants = batch.participant
        cdef const int32_t[::1] accounts = batch.account
        cdef const int32_t[::1] channels = batch.channel
        cdef list strings = batch.strings
        cdef list coids = batch.client_order_ids
        cdef Py_ssize_t n = kinds.shape[0]
        cdef int64_t[::1] starts
        cdef i64 at
        if not _as_i64(at_ns, &at):
            raise ValueError("Condition failed: at_ns must be a 64-bit integer")
        tape._begin(n)
        starts = tape.starts
        self._tape = tape
        self._trefs = tape.refs
        self._tcount = tape.count
        self._tape_acquire()
        try:
            self._batch_rows(batch, tape, first_seq, at_ns, at, n, kinds, sides, types, shorts, prices, quantities, order_ids,
                             instruments, participants, accounts, channels, strings, coids, starts)
        finally:
            tape.count = self._tcount
            self._tape = None
            self._trefs = None
            self._tp = NULL
        tape._end()
        return tape

    cdef int _tape_acquire(self) except -1:
        cdef int64_t[:, ::1] buf = self._tape.buffer
        if buf.shape[1] != sizeof(TapeRec) // sizeof(i64):
            raise ValueError("Invariant: the tape's records are not TapeRec")
        self._tp = <TapeRec*>&buf[0, 0]
        self._tcap = buf.shape[0]
        return 0

    cdef int _batch_rows(self, object batch, object tape, Py_ssize_t first_seq, object at_ns, i64 at, Py_ssize_t n,
                         const unsigned char[::1] kinds, const unsigned char[::1] sides, const unsigned char[::1] types,
                         const unsigned char[::1] shorts, const int64_t[::1] prices, const int64_t[::1] quantities,
                         const int64_t[::1] order_ids, const int32_t[::1] instruments, const int32_t[::1] participants,
                         const int32_t[::1] accounts, const int32_t[::1] channels, list strings, list coids, int64_t[::1] starts) except -1:
        cdef Py_ssize_t i
        cdef int status
        for i in range(n):
            starts[i] = self._tcount
            status = -1
            if self.fast_path and self._clock_ok(at):
                if kinds[i] == 0:
                    status = self._batch_place(tape, i, strings[instruments[i]], strings[participants[i]], strings[accounts[i]],
                                               coids[i], strings[channels[i]], sides[i], types[i], shorts[i], prices[i], quantities[i], at_ns, at)
                elif kinds[i] == 1:
                    status = self._batch_cancel(tape, i, strings[instruments[i]], strings[participants[i]], coids[i], order_ids[i], at_ns, at)
            if status < 0:
                tape.count = self._tcount
                tape._fallback(self, batch.command(i), i, _Stamp(first_seq + i, at_ns))
                self._tcount = tape.count
                self._tape_acquire()
        starts[n] = self._tcount
        return 0

    cdef TapeRec* _rec(self, object tape, i64 row, i64 kind) except NULL:
        """The next record of the tape (grown when full), zeroed, with its row and kind set."""
        cdef TapeRec* rec
        if self._tcount == self._tcap:
            self._tape.count = self._tcount
            self._tape._grow()
            self._tape_acquire()
        rec = &self._tp[self._tcount]
        memset(rec, 0, sizeof(TapeRec))
        rec.row = row
        rec.kind = kind
        self._tcount += 1
        return rec

    cdef int _batch_refuse(self, object tape, i64 row, int kind, i64* fig) except -1:
        cdef TapeRec* rec = self._rec(tape, row, K_REFUSED)
        rec.trade_id = kind
        rec.price = fig[0]
        rec.quantity = fig[1]
        rec.left = fig[2]
        rec.other_left = fig[3]
        return 0

    cdef int _batch_place(self, object tape, i64 row, object instrument, object participant, object account, object coid, object channel,
                          int side_code, int otype, int short_sell, i64 price, i64 qty, object at_obj, i64 at_ns) except -2:
        """One PlaceOrder of a batch: 0 done (accepted or refused, on the tape), -1 the Python path
        must run it (nothing changed)."""
        cdef PyObject* ev[16]
        cdef i64 fig[4]
        cdef ClientOrderIndex index
        cdef Py_hash_t h
        cdef Instrument inst
        cdef FastBook book
        cdef Order order, resting
        cdef TapeRec* rec
        cdef int buy, s, refusal
        cdef i64 oid, max_levels, left, fq, fleft, fprice, last_price, q, n
        cdef Py_ssize_t nf, i, first_level
        cdef str phase = self.phase
        if short_sell or side_code > 1:
            return -1
        inst_obj = self.instruments.get(instrument)
        if type(inst_obj) is not Instrument:
            return -1
        inst = <Instrument>inst_obj
        if type(inst.book) is not FastBook:
            return -1
        book = <FastBook>inst.book
        if type(participant) is not str or type(account) is not str or type(coid) is not str or type(channel) is not str:
            return -1
        if not participant or not account:
            return -1
        self._refresh()
        if not 0 < len(<str>coid) <= self.max_coid:
            return -1
        if type(self.client_orders) is not ClientOrderIndex:
            return -1
        index = <ClientOrderIndex>self.client_orders
        h = _pair_hash(participant, coid)
        index._prefetch(h)
        buy = 1 if side_code == 0 else 0
        if otype > 4:
            return -1
        refusal = self._check_place(inst, book, phase, buy, otype, price, qty, at_obj, fig)
        if refusal < 0:
            return -1
        if refusal > 0:
            if index._order_id(participant, coid) >= 0:
                return -1  # a retry of a known client order id: the Python path answers it
            self._batch_refuse(tape, row, refusal, fig)
            return 0
        order_id = self.next_order_id
        if not _as_i64(order_id, &oid):
            return -1
        side = _BUY_S if buy else _SELL_S
        otype_s = <object>_TYPE_NAMES[otype]
        price_obj = _int(price)
        quantity = _int(qty)
        ev[0] = <PyObject*>instrument
        ev[1] = <PyObject*>participant
        ev[2] = <PyObject*>account
        ev[3] = <PyObject*>coid
        ev[4] = <PyObject*>side
        ev[5] = <PyObject*>otype_s
        ev[6] = <PyObject*>price_obj
        ev[7] = <PyObject*>quantity
        ev[8] = <PyObject*>channel
        ev[9] = <PyObject*>_FALSE
        cmd = _make(&L_PLACE, ev)
        if not index._insert_new(participant, coid, cmd, channel, oid, h):
            return -1  # a retry of a known client order id: the Python path answers it
        # -- accepted: from here on nothing may fail
        self.next_order_id = order_id + 1
        rec = self._rec(tape, row, K_ACCEPTED)
        rec.side = 0 if buy else 1
        rec.order_id = oid
        rec.price = price
        rec.quantity = qty
        s = 0 if buy else 1
        max_levels = 1 if otype == 0 else self.max_queues
        nf = book._match(s, price, qty, max_levels)
        left = qty
        if nf:
            orders = self.orders
            trade_log = inst.trade_log
            refs = self._trefs
            for i in range(nf):
                fq = book.fills[i].quantity
                fleft = book.fills[i].left
                fprice = book.fills[i].price
                left -= fq
                rid = book.fills[i].order_id
                if fleft:
                    resting = <Order?>orders[rid]
                else:
                    resting = <Order?>orders.pop(rid)
                inst.md_seq += 1
                trade_id = self.next_trade_id
                rec = self._rec(tape, row, K_TRADE)
                rec.side = s
                rec.trade_id = <i64>trade_id
                rec.price = fprice
                rec.quantity = fq
                rec.md_seq = inst.md_seq
                rec.ref = len(refs)
                refs.append(resting)
                if buy:
                    rec.order_id = oid
                    rec.other_id = <i64>resting.order_id
                    rec.left = left
                    rec.other_left = fleft
                else:
                    rec.order_id = <i64>resting.order_id
                    rec.other_id = oid
                    rec.left = fleft
                    rec.other_left = left
                self.next_trade_id = trade_id + 1
                if not inst.day_volume:
                    inst.day_open = inst.day_high = inst.day_low = fprice
                if fprice > inst.day_high:
                    inst.day_high = fprice
                if fprice < inst.day_low:
                    inst.day_low = fprice
                inst.day_volume += fq
                inst.last_price = fprice
                fprice_obj = resting.price if type(resting.price) is int and <i64>resting.price == fprice else _int(fprice)
                if trade_log:
                    last = <tuple?>trade_log[-1]
                    if <i64>last[0] == at_ns:
                        if <i64>last[1] != fprice:
                            trade_log[-1] = (at_obj, fprice_obj)
                    else:
                        trade_log.append((at_obj, fprice_obj))
                else:
                    trade_log.append((at_obj, fprice_obj))
        first_level = self._tcount
        if nf:  # touched opposite levels, best first, each once
            last_price = -1
            for i in range(nf):
                fprice = book.fills[i].price
                if fprice != last_price:
                    book._level(1 - s, fprice, &q, &n)
                    rec = self._rec(tape, row, K_LEVEL)
                    rec.side = 1 - s
                    rec.price = fprice
                    rec.quantity = q
                    rec.left = n
                    last_price = fprice
        if left:
            if otype == 2:
                rec = self._rec(tape, row, K_CANCELLED)
                rec.order_id = oid
                rec.quantity = left
                rec.trade_id = 1  # SPECIAL_LIMIT_REMAINDER
                rec.ref = -1
            else:  # the order rests: only now does it need its record
                order = Order.__new__(Order)
                order.order_id = order_id
                order.instrument = instrument
                order.participant = participant
                order.account = account
                order.client_order_id = coid
                order.side = side
                order.order_type = otype_s
                order.price = price_obj
                order.quantity = quantity
                order.channel = channel
                self.orders[order_id] = order
                book._add(oid, s, price, left)
                book._level(s, price, &q, &n)
                rec = self._rec(tape, row, K_LEVEL)
                rec.side = s
                rec.price = price
                rec.quantity = q
                rec.left = n
        if nf or (left and otype != 2):
            self._batch_depth(tape, row, inst, book, self._tcount - first_level)
        self._note_nominal(inst, book, at_obj, at_ns)
        return 0

    cdef int _batch_depth(self, object tape, i64 row, Instrument inst, FastBook book, i64 levels) except -1:
        """The depth record after ``levels`` level records (`_publish` on the tape)."""
        cdef i64 bid = book._best(0)
        cdef i64 ask = book._best(1)
        cdef i64 bq = 0, aq = 0, n
        cdef TapeRec* rec
        if bid:
            book._level(0, bid, &bq, &n)
        if ask:
            book._level(1, ask, &aq, &n)
        inst.md_seq += 1
        rec = self._rec(tape, row, K_DEPTH)
        rec.md_seq = inst.md_seq
        rec.price = bid
        rec.quantity = bq
        rec.other_id = ask
        rec.left = aq
        rec.trade_id = levels
        return 0

    cdef int _batch_cancel(self, object tape, i64 row, object instrument, object participant, object coid, i64 by_id, object at_obj, i64 at_ns) except -2:
        """One CancelOrder of a batch (`_fast_cancel` on the tape): 0 done, -1 the Python path."""
        cdef i64 oid, left, price, q, n
        cdef i64 fig[4]
        cdef Instrument inst
        cdef FastBook book
        cdef Order order
        cdef TapeRec* rec
        cdef str phase = self.phase
        if phase != "CTS_MORNING" and phase != "CTS_AFTERNOON":
            return -1
        if type(participant) is not str:
            return -1
        if by_id == 0:
            if type(coid) is not str or type(self.client_orders) is not ClientOrderIndex:
                return -1
            oid = (<ClientOrderIndex>self.client_orders)._order_id(participant, coid)
            if oid < 0:
                memset(fig, 0, sizeof(fig))
                self._batch_refuse(tape, row, R_UNKNOWN_CLIENT_ORDER, fig)
                return 0
        else:
            oid = by_id
        order_id = PyLong_FromLongLong(oid)
        order_obj = self.orders.get(order_id)
        if order_obj is None:
            memset(fig, 0, sizeof(fig))
            fig[0] = oid
            self._batch_refuse(tape, row, R_NOT_LIVE, fig)
            return 0
        if type(order_obj) is not Order:
            return -1
        order = <Order>order_obj
        if order.participant != participant or order.instrument != instrument:
            return -1
        if order.order_type == "AT_AUCTION":
            return -1
        inst_obj = self.instruments.get(order.instrument)
        if type(inst_obj) is not Instrument:
            return -1
        inst = <Instrument>inst_obj
        if type(inst.book) is not FastBook:
            return -1
        book = <FastBook>inst.book
        if not _as_i64(order.price, &price):
            return -1
        self._refresh()
        # -- from here on nothing may fail
        left = book._cancel(oid)
        del self.orders[order_id]
        rec = self._rec(tape, row, K_CANCELLED)
        rec.order_id = oid
        rec.quantity = left
        rec.trade_id = 0  # CLIENT
        refs = self._trefs
        rec.ref = len(refs)
        refs.append(order)
        rec.side = 0 if order.side == "B" else 1
        book._level(rec.side, price, &q, &n)
        rec = self._rec(tape, row, K_LEVEL)
        rec.side = 0 if order.side == "B" else 1
        rec.price = price
        rec.quantity = q
        rec.left = n
        self._batch_depth(tape, row, inst, book, 1)
        self._note_nominal(inst, book, at_obj, at_ns)
        return 0
