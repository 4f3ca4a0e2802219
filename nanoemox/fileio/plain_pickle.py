"""Reads the pickles NumPy writes for object arrays (AffectGPT's label dicts) as plain data only.

No function or class named by the file is called, NumPy's own unpickling hooks included (fed crafted
arguments, those can crash the interpreter): arrays, dtypes and scalars are rebuilt here from their pickled
state with checked sizes, through `np.dtype(str)` and `np.frombuffer`.
"""

from __future__ import annotations

import io
import math
import pickle
import pickletools
from typing import IO, Any

import numpy as np

SIMPLE_KINDS = "biufcOUS"  # bool, int, uint, float, complex, object, unicode, bytes: no structured or void dtypes


class PickledDType:
    """np.dtype(typestr, align, copy), then BUILD with (version, byte order, subarray, names, fields, ...)."""

    def __init__(self, typestr: Any, *_: Any):
        if not isinstance(typestr, str) or not typestr or typestr[0] not in SIMPLE_KINDS:
            raise pickle.UnpicklingError(f"unsupported dtype {typestr!r}")
        self.typestr, self.order = typestr, "|"

    def __setstate__(self, state: Any) -> None:
        if not isinstance(state, tuple) or len(state) < 5 or any(part is not None for part in state[2:5]):
            raise pickle.UnpicklingError("only simple dtypes are allowed (no subarrays or fields)")
        if state[1] not in ("<", ">", "|", "="):
            raise pickle.UnpicklingError(f"unknown byte order {state[1]!r}")
        self.order = state[1]

    def real(self) -> np.dtype:
        return np.dtype(("" if self.order in "|=" else self.order) + self.typestr)


class PickledArray:
    """_reconstruct(ndarray, ...) makes an empty one; BUILD gives (version, shape, dtype, fortran, data)."""

    value: np.ndarray | None = None

    def __setstate__(self, state: Any) -> None:
        if not isinstance(state, tuple) or len(state) != 5 or not isinstance(state[2], PickledDType):
            raise pickle.UnpicklingError("not the state of a NumPy array")
        _, shape, pickled_dtype, fortran, data = state
        if not isinstance(shape, tuple) or not all(isinstance(n, int) and n >= 0 for n in shape):
            raise pickle.UnpicklingError(f"bad array shape {shape!r}")
        dtype, count, order = pickled_dtype.real(), math.prod(shape), "F" if fortran else "C"
        if dtype.hasobject:
            if not isinstance(data, list) or len(data) != count:
                raise pickle.UnpicklingError(f"an object array of shape {shape} needs {count} items")
            flat = np.empty(count, dtype=object)
            for index, item in enumerate(data):
                flat[index] = plain(item)
            self.value = flat.reshape(shape, order=order)
        else:
            self.value = _from_bytes(data, dtype, count).reshape(shape, order=order)


def _from_bytes(data: Any, dtype: np.dtype, count: int) -> np.ndarray:
    if isinstance(data, pickle.PickleBuffer):
        data = bytes(data)
    if not isinstance(data, bytes) or len(data) != count * dtype.itemsize:
        raise pickle.UnpicklingError(f"{count} values of {dtype} need {count * dtype.itemsize} bytes")
    return np.frombuffer(data, dtype=dtype).copy()


def _reconstruct(cls: Any, *_: Any) -> PickledArray:
    if cls is not PickledArray:
        raise pickle.UnpicklingError("_reconstruct may only build arrays")
    return PickledArray()


def _scalar(pickled_dtype: Any, data: Any = None) -> Any:
    if not isinstance(pickled_dtype, PickledDType):
        raise pickle.UnpicklingError("a NumPy scalar needs a dtype")
    dtype = pickled_dtype.real()
    return plain(data) if dtype.hasobject else _from_bytes(data, dtype, 1)[0]


def _frombuffer(data: Any, pickled_dtype: Any, shape: Any, order: Any) -> np.ndarray:
    if not isinstance(pickled_dtype, PickledDType) or not isinstance(shape, tuple):
        raise pickle.UnpicklingError("not a NumPy buffer")
    dtype = pickled_dtype.real()
    if dtype.hasobject or not all(isinstance(n, int) and n >= 0 for n in shape):
        raise pickle.UnpicklingError(f"bad array buffer {dtype} {shape!r}")
    return _from_bytes(data, dtype, math.prod(shape)).reshape(shape, order="F" if order == "F" else "C")


STAND_INS = {  # the globals np.save's pickles name (NumPy 1.x wrote numpy.core), each mapped to a checked builder
    ("numpy", "ndarray"): PickledArray,
    ("numpy", "dtype"): PickledDType,
    ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy._core.multiarray", "scalar"): _scalar,
    ("numpy._core.numeric", "_frombuffer"): _frombuffer,
}


class PlainUnpickler(pickle.Unpickler):
    """Any global other than NumPy's array pieces is refused; those are replaced by the stand-ins above."""

    def find_class(self, module: str, name: str) -> Any:
        stand_in = STAND_INS.get((module.replace("numpy.core.", "numpy._core.", 1), name))
        if stand_in is None:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name}: only plain data is allowed")
        return stand_in


def plain(value: Any) -> Any:
    """The value with every stand-in replaced by what it stands for (arrays, dtypes)."""
    if isinstance(value, PickledArray):
        if value.value is None:
            raise pickle.UnpicklingError("an array without its state")
        return value.value
    if isinstance(value, PickledDType):
        return value.real()
    if isinstance(value, dict):
        return {plain(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return type(value)(plain(v) for v in value)
    return value


MEMO_OPCODES = ("PUT", "BINPUT", "LONG_BINPUT", "GET", "BINGET", "LONG_BINGET")


def load_plain(stream: IO[bytes]) -> Any:
    """One pickled value from `stream`, as plain data and NumPy arrays; a damaged or crafted pickle raises
    UnpicklingError (pickle's own errors on bad bytes vary: AttributeError, OverflowError, KeyError...)."""
    data = stream.read()
    for opcode, arg, _ in pickletools.genops(data):  # sizes a crafted file could inflate, checked first
        if (opcode.name in MEMO_OPCODES or opcode.name == "FRAME") and int(arg) > len(data):
            raise pickle.UnpicklingError(f"{opcode.name} {arg} is beyond the {len(data)} bytes of the pickle")
    try:
        return plain(PlainUnpickler(io.BytesIO(data)).load())
    except pickle.UnpicklingError:
        raise
    except Exception as err:  # no code of the file runs, so any error is the file's damage
        raise pickle.UnpicklingError(f"{type(err).__name__}: {err}") from err
