"""Delivery: from an ended call to HoneyHive, off the caller's thread.

:mod:`.pipeline` builds the record, runs the processors and encodes it once;
:mod:`.worker` (background mode) or :mod:`.inline` hands batches to
:mod:`.http`, which speaks the wire protocol of :mod:`.protocol` with the retry
policy of :mod:`.retry`; :mod:`.ledger` counts every outcome and puts what was
not delivered in the :mod:`.spool`.
"""
