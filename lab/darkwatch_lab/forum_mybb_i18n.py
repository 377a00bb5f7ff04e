"""MyBB 1.8 with a translated interface (Russian ``mybb-ru``, German ``mybb-de``).

Same markup as :mod:`darkwatch_lab.forum_mybb` (a language pack changes strings, not
templates); what changes is what the language packs' ``global.lang.php`` define and the
board settings their installs ship with: date format ``d.m.Y`` and 24 h time ``H:i``
("14.01.2021, 16:04"), ``today_rel``/``yesterday_rel`` ("<span title=date>Сегодня</span>,
10:30", "Gestern, 15:04"), ``rel_time`` with the minute/hour units and the "ago" word
("4 часа назад", "vor 4 Stunden", absolute date and time in the ``title``), ``<html
lang>``, and the chrome's labels. Plural forms follow the language's grammar (Russian
1/2-4/5+ forms). Written from those formats, not copied markup.

Why: French health data is sold on Russian-interface boards, and a crawler that reads
only English/French dates silently stores wrong times there (issue 16).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from darkwatch_lab.forum_content import ForumContent
from darkwatch_lab.forum_faults import Faults
from darkwatch_lab.forum_http import Sessions
from darkwatch_lab.forum_mybb import MybbSkin


def _ru_plural(n: int, forms: tuple[str, str, str]) -> str:
    """Russian/Ukrainian plural: 1, 21 -> forms[0]; 2-4, 22-24 -> forms[1]; else forms[2]."""
    if n % 10 == 1 and n % 100 != 11:
        return forms[0]
    if 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14:
        return forms[1]
    return forms[2]


@dataclass(frozen=True)
class MybbPack:
    """The strings and board settings of one MyBB language pack that the skin uses."""

    lang: str
    zone: str  # the install's default board time zone
    today: str
    yesterday: str
    minutes: tuple[str, str, str]  # singular, few, many (German: singular, plural, plural)
    hours: tuple[str, str, str]
    ago: str  # "{n} {unit} назад" / "vor {n} {unit}"
    chrome: dict[str, str] = field(default_factory=dict)  # ">English<" -> ">translated<"

    def unit(self, n: int, forms: tuple[str, str, str]) -> str:
        if self.lang in ("ru", "uk"):
            return _ru_plural(n, forms)
        return forms[0] if n == 1 else forms[1]


PACKS = {
    "ru": MybbPack(
        lang="ru", zone="Europe/Moscow", today="Сегодня", yesterday="Вчера",
        minutes=("минуту", "минуты", "минут"), hours=("час", "часа", "часов"), ago="{n} {unit} назад",
        chrome={
            "Hello There, Guest!": "Здравствуйте, Гость!", ">Login<": ">Вход<",
            ">Register<": ">Регистрация<", ">Search<": ">Поиск<", ">Member List<": ">Пользователи<",
            ">Help<": ">Помощь<", "Next &raquo;": "Вперёд &raquo;", "&laquo; Previous": "&laquo; Назад",
            ">Pages (": ">Страницы (", "Current time:": "Текущее время:", ">Last Post<": ">Последний ответ<",
            ">Replies<": ">Ответов<", ">Views<": ">Просмотров<", ">Forum Team<": ">Команда форума<",
            ">Return to Top<": ">Вернуться к началу<", ">Threaded Mode<": ">Древовидный режим<",
            " Wrote: ": " писал(а): ", "(This post was last modified:": "(Это сообщение последний раз "
            "редактировалось:", ">Post Thread<": ">Создать тему<", ">New Reply<": ">Ответить<",
        },
    ),
    "de": MybbPack(
        lang="de", zone="Europe/Berlin", today="Heute", yesterday="Gestern",
        minutes=("Minute", "Minuten", "Minuten"), hours=("Stunde", "Stunden", "Stunden"),
        ago="vor {n} {unit}",
        chrome={
            "Hello There, Guest!": "Hallo, Gast!", ">Login<": ">Anmelden<", ">Register<": ">Registrieren<",
            ">Search<": ">Suche<", ">Member List<": ">Mitglieder<", ">Help<": ">Hilfe<",
            "Next &raquo;": "Nächste &raquo;", "&laquo; Previous": "&laquo; Vorherige",
            ">Pages (": ">Seiten (", "Current time:": "Aktuelle Zeit:", ">Last Post<": ">Letzter Beitrag<",
            ">Replies<": ">Antworten<", ">Views<": ">Ansichten<", ">Forum Team<": ">Forum-Team<",
            ">Return to Top<": ">Nach oben<", ">Threaded Mode<": ">Baumstrukturmodus<",
            " Wrote: ": " schrieb: ", "(This post was last modified:": "(Dieser Beitrag wurde zuletzt "
            "bearbeitet:", ">Post Thread<": ">Neues Thema<", ">New Reply<": ">Antworten<",
        },
    ),
}


class MybbI18nSkin(MybbSkin):
    """A MyBB skin whose interface (dates, labels, ``<html lang>``) is one language pack."""

    def __init__(self, content: ForumContent, sessions: Sessions, faults: Faults, prefix: str,
                 lang: str, tz: str | None = None, threads_per_page: int = 10,
                 posts_per_page: int = 10) -> None:
        if lang not in PACKS:
            raise ValueError(f"no MyBB language pack {lang!r} in the lab; choose from {', '.join(PACKS)}")
        self.pack = PACKS[lang]
        super().__init__(content, sessions, faults, prefix, tz or self.pack.zone, threads_per_page,
                         posts_per_page)

    def _abs(self, dt: datetime) -> tuple[str, str]:
        d = dt.astimezone(self.tz)
        return f"{d:%d.%m.%Y}", f"{d:%H:%M}"

    def date(self, dt: datetime) -> str:
        """my_date('relative') with this pack's strings (same thresholds as MyBB)."""
        p = self.pack
        day, clock = self._abs(dt)
        diff = time.time() - dt.timestamp()
        if 0 <= diff < 3600:
            n = max(1, int(diff // 60))
            return f'<span title="{day}, {clock}">{p.ago.format(n=n, unit=p.unit(n, p.minutes))}</span>'
        if 0 <= diff < 43200:
            n = int(diff // 3600)
            return f'<span title="{day}, {clock}">{p.ago.format(n=n, unit=p.unit(n, p.hours))}</span>'
        now = datetime.now(UTC).astimezone(self.tz).date()
        local = dt.astimezone(self.tz).date()
        if local == now:
            return f'<span title="{day}">{p.today}</span>, {clock}'
        if local == now - timedelta(days=1):
            return f'<span title="{day}">{p.yesterday}</span>, {clock}'
        return f"{day}, {clock}"

    def layout(self, title: str, body: str, user: str | None, nav: list[tuple[str, str]] = ()) -> str:
        html = super().layout(title, body, user, nav)
        lang = self.pack.lang
        html = html.replace('xml:lang="en" lang="en"', f'xml:lang="{lang}" lang="{lang}"', 1)
        for english, translated in self.pack.chrome.items():
            html = html.replace(english, translated)
        return html


__all__ = ["PACKS", "MybbI18nSkin", "MybbPack"]
