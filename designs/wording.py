"""What a customer reads about a duplicate or a look-alike, in words rather than hash bits."""

REASONS = {
    "same file": "the same file as",
    "same picture": "the same picture as",
    "edited copy": "a copy, with small changes, of",
    "cropped copy": "a cropped copy of",
    "slightly turned copy": "a slightly turned copy of",
    "similar hashes": "a copy of",
}


def likeness(distance):
    """How alike two designs look, from their phash distance: "looks the same" ... "somewhat alike"."""
    if distance is None:
        return ""
    if distance <= 2:
        return "looks the same"
    if distance <= 6:
        return "very similar"
    return "similar"


def duplicate_summary(reason, original_title):
    """'A cropped copy of “Logo”': what the flagged design is to the one already in the library."""
    return f"{REASONS.get(reason, 'a copy of').capitalize()} “{original_title}”"


def resolution_note(design, original):
    """'1200 x 1200, your original is 3000 x 3000' when the new file has fewer pixels than the original, else ''."""
    if not (design.width and original.width) or design.width * design.height >= original.width * original.height:
        return ""
    return f"{design.width} x {design.height}, your original is {original.width} x {original.height}"
