"""File writers that stream: WFDB (format 16 .dat + header + annotation files) and NumPy .npz,
written segment by segment with only a segment in memory."""

from __future__ import annotations

import shutil
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import wfdb

from ecgdash.core.dataset.layout import LeadInfo


def _num(x: float) -> str:
    """A header number as WFDB writes it: no trailing .0, full precision otherwise."""
    return str(int(x)) if float(x).is_integer() else repr(float(x))


class WfdbWriter:
    """One WFDB record: ``<name>.dat`` (format 16, leads interleaved) streamed, then the header
    (with each lead's checksum and first value, computed on the way) and annotation files."""

    def __init__(self, folder: Path, name: str, fs: float, leads: tuple[LeadInfo, ...],
                 start_us: int, comment: str) -> None:
        self.folder, self.name, self.fs, self.leads = folder, name, fs, leads
        self.start_us, self.comment = start_us, comment
        self.dat = (folder / f"{name}.dat").open("wb")
        self.n = 0
        self.checksum = np.zeros(len(leads), np.int64)
        self.first: np.ndarray | None = None

    def write(self, adc: np.ndarray) -> None:
        if adc.shape[0] == 0:
            return
        if self.first is None:
            self.first = adc[0].copy()
        self.checksum += adc.sum(axis=0, dtype=np.int64)
        self.dat.write(np.ascontiguousarray(adc, "<i2").tobytes())
        self.n += adc.shape[0]

    def close(self) -> list[str]:
        """Finish the .dat and write the header; returns the file names written."""
        self.dat.close()
        t = datetime.fromtimestamp(self.start_us // 1_000_000, UTC)
        frac = self.start_us % 1_000_000
        clock = t.strftime("%H:%M:%S") + (f".{frac:06d}".rstrip("0") if frac else "")
        lines = [f"{self.name} {len(self.leads)} {_num(self.fs)} {self.n} {clock} "
                 f"{t.strftime('%d/%m/%Y')}"]
        first = self.first if self.first is not None else np.zeros(len(self.leads), np.int16)
        for i, lead in enumerate(self.leads):
            cs = int(self.checksum[i] % 65536)
            cs = cs - 65536 if cs > 32767 else cs
            lines.append(f"{self.name}.dat 16 {_num(lead.gain)}({lead.baseline})/{lead.units} "
                         f"{lead.adc_res} {lead.adc_zero} {int(first[i])} {cs} 0 {lead.name}")
        lines.append(f"# {self.comment}")
        (self.folder / f"{self.name}.hea").write_text("\n".join(lines) + "\n")
        return [f"{self.name}.hea", f"{self.name}.dat"]

    def annotate(self, ext: str, sample: np.ndarray, symbol: list[str], aux: list[str] | None = None,
                 subtype: np.ndarray | None = None, chan: np.ndarray | None = None,
                 num: np.ndarray | None = None) -> str | None:
        """``<name>.<ext>`` with annotations at record samples `sample` (None if there are none)."""
        if len(sample) == 0:
            return None
        order = np.argsort(sample, kind="stable")
        kw = {}
        for key, arr in (("subtype", subtype), ("chan", chan), ("num", num)):
            if arr is not None:
                kw[key] = np.asarray(arr)[order]
        if aux is not None:
            kw["aux_note"] = [aux[i] for i in order]
        wfdb.wrann(self.name, ext, np.asarray(sample, np.int64)[order],
                   symbol=[symbol[i] for i in order], fs=self.fs, write_dir=str(self.folder), **kw)
        return f"{self.name}.{ext}"


class NpzWriter:
    """An uncompressed .npz whose big arrays are appended block by block (each spooled to a
    scratch file, then copied into the archive behind its .npy header) beside small ones."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.spools: dict[str, tuple[Path, np.dtype, tuple[int, ...], int]] = {}
        self.small: dict[str, np.ndarray] = {}

    def declare(self, name: str, dtype: np.dtype | type, tail: tuple[int, ...]) -> None:
        """An array of rows of shape `tail`, empty until appended to."""
        spool = self.path.with_name(f".{self.path.name}.{name}.spool")
        spool.write_bytes(b"")
        self.spools[name] = (spool, np.dtype(dtype), tail, 0)

    def append(self, name: str, block: np.ndarray) -> None:
        spool, dtype, tail, rows = self.spools.get(
            name, (self.path.with_name(f".{self.path.name}.{name}.spool"), block.dtype,
                   block.shape[1:], 0))
        with spool.open("ab") as f:
            f.write(np.ascontiguousarray(block, dtype).tobytes())
        self.spools[name] = (spool, dtype, tail, rows + block.shape[0])

    def put(self, name: str, value: np.ndarray | float | int | str) -> None:
        self.small[name] = np.asarray(value)

    def close(self) -> None:
        with zipfile.ZipFile(self.path, "w", zipfile.ZIP_STORED, allowZip64=True) as zf:
            for name, (spool, dtype, tail, rows) in self.spools.items():
                with zf.open(f"{name}.npy", "w", force_zip64=True) as out:
                    np.lib.format.write_array_header_2_0(out, {
                        "descr": np.lib.format.dtype_to_descr(dtype), "fortran_order": False,
                        "shape": (rows, *tail)})  # fmt: skip
                    with spool.open("rb") as src:
                        shutil.copyfileobj(src, out, 1 << 20)
                spool.unlink()
            for name, value in self.small.items():
                with zf.open(f"{name}.npy", "w", force_zip64=True) as out:
                    np.lib.format.write_array(out, value, allow_pickle=False)
