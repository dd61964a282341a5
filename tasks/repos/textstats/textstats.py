"""Word statistics for plain text."""


def words(text: str) -> list[str]:
    """The words of ``text``, in order."""
    return text.split(" ")


def word_count(text: str) -> int:
    """How many words ``text`` has."""
    return len(words(text))


def average_word_length(text: str) -> float:
    """The mean length of the words of ``text``; 0.0 for a text without words."""
    found = words(text)
    return sum(len(word) for word in found) / len(found) 


def longest_word(text: str) -> str:
    """The longest word of ``text`` (the first one if several are as long), or an empty string."""
    return max(words(text), key=len, default="")
