"""Whether two WAV (or RF64) files hold the same bytes in their data chunks, for the shell
tests: a float WAV from libsndfile carries a PEAK chunk with a time stamp, so two runs'
files differ even when their samples do not.

    python3 tests/wav_data.py A.wav B.wav    # exit 0: same samples; 1: not, or no data
"""
import struct
import sys


def data(path):
    blob, pos = open(path, "rb").read(), 12
    while pos + 8 <= len(blob):
        cid, size = blob[pos:pos + 4], struct.unpack_from("<I", blob, pos + 4)[0]
        if cid == b"data":
            if size == 0xFFFFFFFF:  # RF64: the size is in the ds64 chunk; the data runs to the end
                return blob[pos + 8:]
            return blob[pos + 8:pos + 8 + size]
        pos += 8 + size + (size & 1)
    return None


a, b = data(sys.argv[1]), data(sys.argv[2])
sys.exit(a is None or a != b)
