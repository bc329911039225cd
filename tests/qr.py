"""Reading a QR code back from a DOCX the way a phone would: the PNG image out of the document's footer, decoded by
zxing-cpp. PNGs are read with the standard library (segno writes plain greyscale ones), so no imaging library."""

import io
import struct
import zipfile
import zlib

import zxingcpp


def footer_images(docx: bytes) -> list[bytes]:
    """The images the footers of a DOCX show (the QR code), read through the footers' relationships."""
    with zipfile.ZipFile(io.BytesIO(docx)) as archive:
        names = archive.namelist()
        images = []
        for rels in (n for n in names if n.startswith("word/_rels/footer") and n.endswith(".rels")):
            text = archive.read(rels).decode()
            for target in text.split('Target="')[1:]:
                target = target.split('"', 1)[0]
                if target.startswith("media/"):
                    images.append(archive.read(f"word/{target}"))
        return images


def _unfilter(raw: bytes, width: int, height: int, depth: int) -> list[bytearray]:
    stride, step = (width * depth + 7) // 8, max(depth // 8, 1)
    rows, previous, pos = [], bytearray(stride), 0
    for _ in range(height):
        kind, line = raw[pos], bytearray(raw[pos + 1 : pos + 1 + stride])
        pos += 1 + stride
        for i in range(stride):
            a = line[i - step] if i >= step else 0
            b, c = previous[i], (previous[i - step] if i >= step else 0)
            if kind == 1:
                line[i] = (line[i] + a) & 255
            elif kind == 2:
                line[i] = (line[i] + b) & 255
            elif kind == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(line)
        previous = line
    return rows


def decode_png(png: bytes) -> str:
    """The text of the QR code in a greyscale PNG."""
    pos, idat = 8, b""
    while pos < len(png):
        length, kind = struct.unpack(">I4s", png[pos : pos + 8])
        body = png[pos + 8 : pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            width, height, depth, colour = struct.unpack(">IIBB", body[:10])
        elif kind == b"IDAT":
            idat += body
    assert colour == 0 and depth in (1, 8), f"not a greyscale PNG (colour type {colour}, depth {depth})"
    grey = bytearray()
    for line in _unfilter(zlib.decompress(idat), width, height, depth):
        grey += line if depth == 8 else bytes(255 * (line[x // 8] >> (7 - x % 8) & 1) for x in range(width))
    result = zxingcpp.read_barcode(memoryview(bytes(grey)).cast("B", shape=[height, width]))
    assert result is not None and result.valid, "no QR code found in the image"
    return result.text
