"""FIX 4.4 tag numbers and the enumerated values the gateway reads or writes, by their FIX names.

The gateway's logic names every tag through these constants (``tags.CL_ORD_ID``, never ``11``):
a reader checks a field against the FIX 4.4 specification (Volume 6, the field dictionary) by
name. Values of enumerated fields that the gateway writes (MsgType, ExecType, OrdStatus, the
reject reasons) are grouped per field in small namespaces.
"""

from __future__ import annotations

# -- standard header and trailer --------------------------------------------------------------------
BEGIN_STRING = 8
BODY_LENGTH = 9
CHECK_SUM = 10
MSG_SEQ_NUM = 34
MSG_TYPE = 35
POSS_DUP_FLAG = 43
SENDER_COMP_ID = 49
SENDING_TIME = 52
TARGET_COMP_ID = 56
POSS_RESEND = 97
ORIG_SENDING_TIME = 122

# -- session messages ----------------------------------------------------------------------------------
BEGIN_SEQ_NO = 7
END_SEQ_NO = 16
NEW_SEQ_NO = 36
REF_SEQ_NUM = 45
ENCRYPT_METHOD = 98
HEART_BT_INT = 108
TEST_REQ_ID = 112
GAP_FILL_FLAG = 123
RESET_SEQ_NUM_FLAG = 141
REF_TAG_ID = 371
REF_MSG_TYPE = 372
SESSION_REJECT_REASON = 373
BUSINESS_REJECT_REASON = 380
USERNAME = 553
PASSWORD = 554

# -- orders and execution reports ----------------------------------------------------------------------
ACCOUNT = 1
AVG_PX = 6
CL_ORD_ID = 11
CUM_QTY = 14
EXEC_ID = 17
EXEC_INST = 18
LAST_PX = 31
LAST_QTY = 32
ORDER_ID = 37
ORDER_QTY = 38
ORD_STATUS = 39
ORD_TYPE = 40
ORIG_CL_ORD_ID = 41
PRICE = 44
SIDE = 54
SYMBOL = 55
TEXT = 58
TIME_IN_FORCE = 59
TRANSACT_TIME = 60
CXL_REJ_REASON = 102
ORD_REJ_REASON = 103
EXEC_TYPE = 150
LEAVES_QTY = 151
CXL_REJ_RESPONSE_TO = 434

# -- NumInGroup fields of the repeating groups an order-entry message may carry --------------------------
NO_ALLOCS = 78
NO_STIPULATIONS = 232
NO_CONTRA_BROKERS = 382
NO_TRADING_SESSIONS = 386
NO_PARTY_IDS = 453
NO_SECURITY_ALT_ID = 454
PARTY_SUB_ID = 523  # not a count, but it repeats inside the Parties group
NO_PARTY_SUB_IDS = 802
NO_STRATEGY_PARAMETERS = 957


class MsgType:
    """MsgType (35) values."""

    HEARTBEAT = b"0"
    TEST_REQUEST = b"1"
    RESEND_REQUEST = b"2"
    REJECT = b"3"
    SEQUENCE_RESET = b"4"
    LOGOUT = b"5"
    EXECUTION_REPORT = b"8"
    ORDER_CANCEL_REJECT = b"9"
    LOGON = b"A"
    NEW_ORDER_SINGLE = b"D"
    ORDER_CANCEL_REQUEST = b"F"
    ORDER_CANCEL_REPLACE_REQUEST = b"G"
    BUSINESS_MESSAGE_REJECT = b"j"


ADMIN_TYPES = frozenset(
    {MsgType.HEARTBEAT, MsgType.TEST_REQUEST, MsgType.RESEND_REQUEST, MsgType.REJECT, MsgType.SEQUENCE_RESET, MsgType.LOGOUT, MsgType.LOGON}
)
"""Session-level messages: counted but not stored, answered by GapFill on a resend."""


class ExecType:
    """ExecType (150) values."""

    NEW = b"0"
    CANCELED = b"4"
    REPLACED = b"5"
    REJECTED = b"8"
    TRADE = b"F"
    ORDER_STATUS = b"I"


class OrdStatus:
    """OrdStatus (39) values."""

    NEW = b"0"
    PARTIALLY_FILLED = b"1"
    FILLED = b"2"
    CANCELED = b"4"
    REJECTED = b"8"


class Side:
    """Side (54) values."""

    BUY = b"1"
    SELL = b"2"
    SELL_SHORT = b"5"


class OrdType:
    """OrdType (40) values."""

    MARKET = b"1"
    LIMIT = b"2"


class TimeInForce:
    """TimeInForce (59) values."""

    AT_THE_OPENING = b"2"
    IMMEDIATE_OR_CANCEL = b"3"
    AT_THE_CLOSE = b"7"


EXEC_INST_ENHANCED = b"e"
"""ExecInst (18) character that asks for an HKEX enhanced limit order."""
YES = b"Y"


class SessionRejectReason:
    """SessionRejectReason (373) values."""

    INVALID_TAG_NUMBER = 0
    REQUIRED_TAG_MISSING = 1
    TAG_WITHOUT_VALUE = 4
    VALUE_INCORRECT = 5
    INCORRECT_DATA_FORMAT = 6
    COMP_ID_PROBLEM = 9
    SENDING_TIME_ACCURACY = 10  # FIX 4.4's "other" in practice: used for a second Logon
    TAG_APPEARS_MORE_THAN_ONCE = 13


class BusinessRejectReason:
    """BusinessRejectReason (380) values."""

    OTHER = 0
    UNSUPPORTED_MESSAGE_TYPE = 3


class OrdRejReason:
    """OrdRejReason (103) values."""

    DUPLICATE_ORDER = 6
    OTHER = 99


class CxlRejReason:
    """CxlRejReason (102) values."""

    UNKNOWN_ORDER = b"1"
    OTHER = b"99"


class CxlRejResponseTo:
    """CxlRejResponseTo (434) values."""

    CANCEL = b"1"
    REPLACE = b"2"


__all__ = [name for name in dir() if name.isupper() or name[:1].isupper() and not name.startswith("_")]
