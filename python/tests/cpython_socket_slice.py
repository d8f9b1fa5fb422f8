"""Runs CPython's own test.test_socket, with socket.socket or with prise.Socket in its
place (socket.socket = prise.Socket: everything that makes a socket through the socket
module, create_connection and socketpair included, then makes a prise socket).

    cpython_socket_slice.py socket|prise OUT.json [TEST_ID ...]

Writes {test id: "pass" | "fail" | "error" | "skip: <CPython's reason>"}, the
tracebacks, and (prise) the tests that made at least one prise socket to OUT.json. Every TestCase class of the module runs but those in LEFT_OUT;
what Linux or this machine lacks, CPython's own decorators skip, with their reason.
"""

import inspect
import json
import socket
import sys
import unittest

LEFT_OUT = {
    "ThreadedVSOCKSocketStreamTest":
        "hangs with socket.socket too on a virtual machine whose vsock transport only "
        "reaches the host: its client connects to the guest's own CID, which never answers",
}


class Outcomes(unittest.TestResult):
    def __init__(self):
        super().__init__()
        self.outcomes, self.details = {}, {}
        self.current, self.made_sockets = None, set()

    def startTest(self, test):
        super().startTest(test)
        self.current = test.id()

    def made_a_socket(self):
        if self.current is not None:
            self.made_sockets.add(self.current)

    def addSuccess(self, test):
        self.outcomes[test.id()] = "pass"

    def addFailure(self, test, err):
        self.outcomes[test.id()] = "fail"
        self.details[test.id()] = self._exc_info_to_string(err, test)

    def addError(self, test, err):
        self.outcomes[test.id()] = "error"
        self.details[test.id()] = self._exc_info_to_string(err, test)

    def addSkip(self, test, reason):
        self.outcomes[test.id()] = "skip: " + reason

    def addExpectedFailure(self, test, err):
        self.outcomes[test.id()] = "expected failure"

    def addUnexpectedSuccess(self, test):
        self.outcomes[test.id()] = "unexpected success"


def main(mode, out, only):
    from test import test_socket
    result = Outcomes()
    if mode == "prise":
        import prise
        socket.socket = prise.Socket
        # Which tests use prise sockets at all (many test module functions only).
        initialize, wrap = prise.Socket.__init__, prise.Socket._wrap.__func__

        def counted_init(self, *args, **kwargs):
            result.made_a_socket()
            initialize(self, *args, **kwargs)

        def counted_wrap(cls, *args):
            result.made_a_socket()
            return wrap(cls, *args)
        prise.Socket.__init__ = counted_init
        prise.Socket._wrap = classmethod(counted_wrap)
    loader, suite = unittest.TestLoader(), unittest.TestSuite()
    if only:
        suite.addTests(loader.loadTestsFromNames(only))
    else:
        for name, value in vars(test_socket).items():
            if (inspect.isclass(value) and issubclass(value, unittest.TestCase)
                    and name not in LEFT_OUT):
                suite.addTests(loader.loadTestsFromTestCase(value))
    test_socket.setUpModule()
    try:
        suite.run(result)
    finally:
        unittest.case.doModuleCleanups()
    with open(out, "w") as handle:
        json.dump({"outcomes": result.outcomes, "details": result.details,
                   "made_sockets": sorted(result.made_sockets)}, handle)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3:])
