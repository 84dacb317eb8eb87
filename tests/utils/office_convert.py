"""DOCX → PDF through a real LibreOffice, twice: as opened, then after updating its indexes (the table of contents),
as a user's "Atualizar índice" would. Run with the system Python, which has LibreOffice's UNO bridge:

    /usr/bin/python3 tests/utils/office_convert.py IN.docx AS_OPENED.pdf UPDATED.pdf

It starts its own soffice (own profile, own pipe, own process group) and stops it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time

import uno
from com.sun.star.beans import PropertyValue


def _prop(name: str, value) -> PropertyValue:
    prop = PropertyValue()
    prop.Name, prop.Value = name, value
    return prop


def _connect(pipe: str, deadline: float):
    local = uno.getComponentContext()
    resolver = local.ServiceManager.createInstanceWithContext("com.sun.star.bridge.UnoUrlResolver", local)
    while True:
        try:
            return resolver.resolve(f"uno:pipe,name={pipe};urp;StarOffice.ComponentContext")
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def convert(source: str, as_opened: str, updated: str) -> int:
    profile = tempfile.mkdtemp(prefix="nexora-office-")
    pipe = f"nexora-office-{os.getpid()}"
    office = subprocess.Popen(
        [
            "soffice",
            "--headless",
            "--invisible",
            "--norestore",
            "--nologo",
            "--nodefault",
            f"-env:UserInstallation=file://{profile}",
            f"--accept=pipe,name={pipe};urp;",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        context = _connect(pipe, time.monotonic() + 60)
        desktop = context.ServiceManager.createInstanceWithContext("com.sun.star.frame.Desktop", context)
        document = desktop.loadComponentFromURL(
            uno.systemPathToFileUrl(os.path.abspath(source)), "_blank", 0, (_prop("Hidden", True),)
        )
        pdf = (_prop("FilterName", "writer_pdf_Export"),)
        document.storeToURL(uno.systemPathToFileUrl(os.path.abspath(as_opened)), pdf)
        indexes = document.getDocumentIndexes()
        for index in range(indexes.getCount()):
            indexes.getByIndex(index).update()
        document.storeToURL(uno.systemPathToFileUrl(os.path.abspath(updated)), pdf)
        count = indexes.getCount()
        document.close(True)
        with contextlib.suppress(Exception):  # the bridge drops as soffice exits
            desktop.terminate()
        return count
    finally:
        with contextlib.suppress(subprocess.TimeoutExpired):
            office.wait(20)
        with contextlib.suppress(ProcessLookupError):  # whatever is left of the soffice this script started
            os.killpg(office.pid, signal.SIGKILL)
        office.wait(10)


if __name__ == "__main__":
    print(convert(*sys.argv[1:4]))
