"""The import-time version check can fail.

Built against an existing core build (SOFTPROBE_CORE_BUILD, as scripts/test.sh does), softprobe._core
links libsoftprobe.so through an rpath whose first entry is $ORIGIN. A copy of the module next to a
stand-in libsoftprobe.so that reports version 9.9.0 (and an ABI that serves no one) must refuse to
import, naming both versions and the library's file.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Optional

import pytest

from softprobe import _core

MODULE = Path(_core.__file__)
VERSION_FUNCTIONS = {"sp_version_number", "sp_version_string", "sp_abi_compatible"}


def needed_core(file: Path) -> Optional[str]:
    """The NEEDED entry naming libsoftprobe (its SONAME), or None when the core is linked in."""
    dyn = subprocess.run(["readelf", "-d", str(file)], check=True, capture_output=True, text=True).stdout
    m = re.search(r"\(NEEDED\)\s+Shared library: \[(libsoftprobe\.so[^\]]*)\]", dyn)
    return m.group(1) if m else None


def loaded_core() -> Optional[str]:
    """The libsoftprobe.so this process mapped with _core."""
    for line in Path("/proc/self/maps").read_text().splitlines():
        if re.search(r"/libsoftprobe\.so[.\d]*$", line):
            return line[line.index("/"):]
    return None


def build_stand_in(directory: Path, module: Path, soname: str) -> list[str]:
    """A libsoftprobe.so defining every sp_* function the module imports: the version functions
    report 9.9.0 and refuse every ABI; the rest abort."""
    out = subprocess.run(["nm", "-D", "--undefined-only", str(module)], check=True, capture_output=True,
                         text=True).stdout
    names = [line.split()[-1] for line in out.splitlines() if line.strip()]
    imported = [name for name in names if re.fullmatch(r"sp_\w+", name)]
    src = ["#include <stdlib.h>",
           "unsigned sp_version_number(void) { return 90900; }",
           'const char *sp_version_string(void) { return "9.9.0"; }',
           "int sp_abi_compatible(unsigned major, unsigned minor) { (void)major; (void)minor; return 0; }"]
    src += [f"void {name}(void) {{ abort(); }}" for name in imported if name not in VERSION_FUNCTIONS]
    (directory / "standin.c").write_text("\n".join(src) + "\n")
    subprocess.run(["cc", "-shared", "-fPIC", f"-Wl,-soname,{soname}", "-o", str(directory / soname),
                    str(directory / "standin.c")], check=True)
    return imported


IMPORT = ("import importlib.util, sys\n"
          "spec = importlib.util.spec_from_file_location('softprobe._core', sys.argv[1])\n"
          "m = importlib.util.module_from_spec(spec)\n"
          "spec.loader.exec_module(m)\n"
          "print(m.VERSION)\n")

LINKED = needed_core(MODULE)
STATIC = LINKED is None and not os.environ.get("SOFTPROBE_CORE_BUILD")


@pytest.mark.skipif(not os.environ.get("SOFTPROBE_CORE_BUILD"), reason="SOFTPROBE_CORE_BUILD is not set")
def test_built_with_a_core_build_the_module_links_libsoftprobe_so() -> None:
    assert LINKED is not None, f"{MODULE} has no NEEDED libsoftprobe.so: the core was compiled into it"
    assert re.match(r"libsoftprobe\.so\.\d+", LINKED)


@pytest.mark.skipif(STATIC, reason="the module links the core statically (built without SOFTPROBE_CORE_BUILD), "
                    "so its core cannot differ")
def test_the_module_refuses_a_core_whose_abi_does_not_serve_it(tmp_path: Path) -> None:
    assert LINKED is not None, f"{MODULE} has no NEEDED libsoftprobe.so"
    real = loaded_core()
    assert real is not None, "no libsoftprobe.so is mapped in this process"
    module = tmp_path / MODULE.name
    module.write_bytes(MODULE.read_bytes())
    imported = build_stand_in(tmp_path, module, LINKED)
    assert "sp_abi_compatible" in imported, "the module does not call sp_abi_compatible"
    env = {**os.environ, "LD_LIBRARY_PATH": ""}
    r = subprocess.run([sys.executable, "-c", IMPORT, str(module)], capture_output=True, text=True, env=env)
    assert r.returncode != 0, f"the module imported against the stand-in core: {r.stdout}"
    assert f"built for libsoftprobe {_core.VERSION} but the loaded core is 9.9.0 ({tmp_path / LINKED})" in r.stderr

    # The same copy beside the real library imports: the failure above is the version check's.
    (tmp_path / LINKED).write_bytes(Path(real).read_bytes())
    ok = subprocess.run([sys.executable, "-c", IMPORT, str(module)], capture_output=True, text=True, env=env)
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.strip() == _core.VERSION
