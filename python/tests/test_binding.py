"""The ctypes declarations cannot drift from include/prise.h."""

import re

import prise
from prise import _lib
from conftest import REPO


def header_functions(name):
    text = open(REPO + "/include/" + name).read()
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    text = re.sub(r"^#.*?(?<!\\)$", "", text, flags=re.M | re.S)
    text = re.sub(r"\((\w+)\)\(", r"\1(", text)  # int (bindedSocket)(...)
    found = {}
    for match in re.finditer(r"^[A-Za-z][\w \*]*?\b(\w+)\(([^;{]*?)\);", text, flags=re.M | re.S):
        name, params = match.group(1), " ".join(match.group(2).split())
        if name.startswith("(") or match.group(0).startswith("typedef"):
            continue
        found[name] = 0 if params in ("", "void") else params.count(",") + 1
    return found


def test_every_header_function_is_declared_with_its_arity():
    # Every function of prise.h is in the package; the package may also call the course's
    # generation-3 functions of prise_course.h (the older forms are C-only).
    own = header_functions("prise.h")
    declared = dict(own, **header_functions("prise_course.h"))
    assert len(own) >= 40
    missing = sorted(set(own) - set(_lib.SIGNATURES))
    assert not missing, "declare these in prise/_lib.py: %s" % missing
    extra = sorted(set(_lib.SIGNATURES) - set(declared))
    assert not extra, "not in prise.h or prise_course.h: %s" % extra
    for name in _lib.SIGNATURES:
        arity = declared[name]
        assert len(_lib.SIGNATURES[name][1]) == arity, name
        function = getattr(_lib.lib, name)
        assert function.argtypes is not None and len(function.argtypes) == arity, name


def test_version_matches_the_header():
    text = open(REPO + "/include/prise.h").read()
    major, minor, patch = (re.search(r"#define PRISE_VERSION_%s (\d+)" % part, text).group(1)
                           for part in ("MAJOR", "MINOR", "PATCH"))
    assert prise.version() == "%s.%s.%s" % (major, minor, patch)
