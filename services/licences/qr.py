"""QR codes for the licence verification link, as data: URIs the PDF renderer can embed without any fetching."""

from __future__ import annotations

import base64
import io

import qrcode
from qrcode.constants import ERROR_CORRECT_M

# 10 px per module gives a bitmap of a few hundred pixels for a typical verification URL: sharp when the PDF scales
# it to ~34 mm on paper and when a licence is shown full-screen on a phone and scanned by another phone.
BOX_SIZE = 10
# The QR specification asks for a 4-module quiet zone; 2 is what phone scanners reliably cope with, and the licence
# template leaves white space around the image anyway.
BORDER = 2


def qr_png_data_uri(url: str) -> str:
    """Return a ``data:image/png;base64,...`` URI of a QR code encoding ``url``.

    Error correction level M (about 15 % of the symbol may be damaged) survives printing and a creased or
    photographed paper copy while keeping the symbol small. The PNG is 1-bit, so it stays a few hundred bytes.
    """
    if not url:
        raise ValueError("QR code needs a non-empty URL")
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, box_size=BOX_SIZE, border=BORDER)
    code.add_data(url)
    code.make(fit=True)
    image = code.make_image(fill_color="black", back_color="white")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
