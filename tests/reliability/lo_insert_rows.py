"""Insert rows in a workbook's sheet with LibreOffice, as a user would in Calc, and save it as xlsx.

Run in a scratch folder with a Python that has LibreOffice's ``uno`` module (the system ``python3``), not the
project's virtualenv: ``python3 lo_insert_rows.py SRC DST SHEET ROW COUNT CELLS_JSON`` inserts COUNT rows before
sheet row ROW, then types each ``[row, column, text]`` of CELLS_JSON. LibreOffice is driven over a private pipe with
its own profile (in the scratch folder); no macro is put in any document.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import time
import uuid
from pathlib import Path

import uno  # type: ignore[import-not-found]
from com.sun.star.beans import PropertyValue  # type: ignore[import-not-found]


def _prop(name: str, value: object) -> PropertyValue:
    p = PropertyValue()
    p.Name, p.Value = name, value
    return p


def main(src: str, dst: str, sheet: str, at: int, count: int, cells: str) -> None:
    pipe = f"caseaudit{uuid.uuid4().hex}"
    profile = Path.cwd().resolve() / f"lo-profile-{pipe}"  # LibreOffice's own settings, in the working folder
    office = subprocess.Popen(
        [
            "soffice",
            "--headless",
            "--invisible",
            "--norestore",
            "--nologo",
            f"-env:UserInstallation={profile.as_uri()}",
            f"--accept=pipe,name={pipe};urp;",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    desktop = None
    try:
        local = uno.getComponentContext()
        resolver = local.ServiceManager.createInstanceWithContext("com.sun.star.bridge.UnoUrlResolver", local)
        for _ in range(240):
            try:
                ctx = resolver.resolve(f"uno:pipe,name={pipe};urp;StarOffice.ComponentContext")
                break
            except Exception:  # noqa: BLE001 - not listening yet
                time.sleep(0.5)
        else:
            raise SystemExit("LibreOffice did not start")
        desktop = ctx.ServiceManager.createInstanceWithContext("com.sun.star.frame.Desktop", ctx)
        doc = desktop.loadComponentFromURL(Path(src).resolve().as_uri(), "_blank", 0, (_prop("Hidden", True),))
        ws = doc.Sheets.getByName(sheet)
        if ws.isProtected():
            ws.unprotect("")
        ws.Rows.insertByIndex(at - 1, count)
        for row, col, text in json.loads(cells):
            ws.getCellByPosition(col - 1, row - 1).setString(text)
        doc.storeToURL(Path(dst).resolve().as_uri(), (_prop("FilterName", "Calc MS Excel 2007 XML"),))
        doc.close(True)
    finally:
        if desktop is not None:
            with contextlib.suppress(Exception):  # the bridge closes as LibreOffice exits
                desktop.terminate()
        try:
            office.wait(timeout=60)
        except subprocess.TimeoutExpired:
            office.kill()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), sys.argv[6])
