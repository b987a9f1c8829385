"""Values kept in a process under everything they are made from, so they are never stale; the least recently used
make room once `size` are kept."""

import threading
from collections import OrderedDict


class ProcessMemo:
    def __init__(self, size):
        self.size = size
        self._values = OrderedDict()
        self._lock = threading.Lock()  # runserver and threaded workers share it

    def get(self, key, build):
        """The value kept under `key`, or build()'s, kept (`key` must name everything build() depends on)."""
        with self._lock:
            if key in self._values:
                self._values.move_to_end(key)
                return self._values[key]
        value = build()
        with self._lock:
            self._values[key] = value
            if len(self._values) > self.size:
                self._values.popitem(last=False)
        return value

    def clear(self):
        with self._lock:
            self._values.clear()

    def __len__(self):
        return len(self._values)
