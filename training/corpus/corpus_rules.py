"""Which Debian packages feed which source pool, and how their files are sorted.

Everything here is a decision about the data, kept apart from the machinery in
build_corpus.py so that a change of rule is one reviewable diff. Bump RULES_VERSION
whenever a rule changes: packages processed under an older version are redone.

The package lists are those of issue 3, item 1. Only these packages are used for
training and validation; every other Debian package is reserved for independent
evaluation.
"""

import re

RULES_VERSION = 5

CLASSES = ("speech", "music", "sfx")

SPEECH_PACKAGES = [
    "fillets-ng-data-cs", "festvox-ru", "tuxpaint-stamps-default",
    "asterisk-core-sounds-en-wav", "asterisk-core-sounds-es-wav",
    "asterisk-core-sounds-fr-wav", "klettres-data", "ktuberling-data", "gcin-voice",
]

MUSIC_PACKAGES = [
    "warzone2100-music", "ufoai-music", "0ad-data", "wesnoth-1.16-music", "naev-data",
    "supertux-data", "hedgewars-data", "widelands-data", "nexuiz-music",
    "colobot-common-sounds", "singularity-music", "freedroidrpg-data", "flare-game",
    "megaglest-data", "warmux-data", "hyperrogue-music", "redeclipse-data",
    # MIDI only, rendered with fluidsynth and the FluidR3 GM soundfont.
    "simutrans-data", "mma",
]

SFX_PACKAGES = [
    "0ad-data", "ufoai-sound", "megaglest-data", "redeclipse-data", "widelands-data",
    "hydrogen-drumkits-effects", "lincity-ng-data", "boswars-data",
    "tuxpaint-stamps-default", "freedroidrpg-data", "scratch", "wesnoth-1.16-data",
    "flare-game", "searchandrescue-data", "endless-sky-data", "lugaru-data", "warmux-data",
    "netpanzer-data", "minetest-data", "hedgewars-data", "torcs-data",
    "colobot-common-sounds", "naev-data", "crrcsim-data", "micropolis-data", "supertux-data",
]

PACKAGE_LISTS = {"speech": SPEECH_PACKAGES, "music": MUSIC_PACKAGES, "sfx": SFX_PACKAGES}

# Packages whose MIDI files are rendered to audio (and whose only contribution is MIDI).
MIDI_PACKAGES = {"simutrans-data", "mma"}

# Soundfont used for MIDI rendering; the package is fetched like the corpus packages.
SOUNDFONT_PACKAGE = "fluid-soundfont-gm"
SOUNDFONT_PATH = "usr/share/sounds/sf2/FluidR3_GM.sf2"

# Validation is held out by package, per class: a package named here contributes all of
# its files of that class to validation and none to training, so that nothing recorded in
# the same session, by the same voice or composed for the same game leaks across the
# split. Chosen from the hours of the first full build (`build_corpus.py --show-hours`):
# about 10 % of each class, two or three packages of different character per class.
#   speech 8.5 h: asterisk fr (8 kHz telephone prompts, 0.42 h) + ktuberling (words in
#                 ~25 languages, 0.52 h) = 0.94 h, 11 %
#   music 30.8 h: wesnoth (orchestral, 2.13 h) + singularity (electronic, 1.07 h)
#                 = 3.2 h, 10 %
#   sfx    3.1 h: lincity-ng (city, 0.13 h) + endless-sky (space, 0.09 h) +
#                 searchandrescue (aircraft, 0.09 h) = 0.31 h, 10 %
VALIDATION_PACKAGES = {
    "speech": ["asterisk-core-sounds-fr-wav", "ktuberling-data"],
    "music": ["wesnoth-1.16-music", "singularity-music"],
    "sfx": ["lincity-ng-data", "endless-sky-data", "searchandrescue-data"],
}

# Extensions of audio we decode with ffmpeg (its libopenmpt demuxer handles tracker
# modules; openmpt123 is the fallback when it does not).
AUDIO_EXTS = {".wav", ".ogg", ".oga", ".flac", ".mp3", ".opus", ".spx", ".au", ".voc"}
TRACKER_EXTS = {".mod", ".xm", ".it", ".s3m"}
MIDI_EXTS = {".mid", ".midi"}
ARCHIVE_EXTS = {".zip", ".pk3"}

# Thresholds applied after decoding (mono, 44.1 kHz).
MIN_DURATION_S = 0.5
# A file whose loudest 50 ms frame stays below this is silent or near-silent (placeholder
# files, fade tails, dither only).
SILENCE_MAX_FRAME_DBFS = -50.0
# Long files in the sound folders of games that are in both the music and sfx lists are
# usually music (menu loops, jingles stored beside the effects): see classify_after_decode.
LONG_SFX_AS_MUSIC_S = 45.0
# Bandwidth: highest frequency whose averaged power is within this many dB of the peak.
BANDWIDTH_RANGE_DB = 60.0

# Directory names (one path component, lower case) that mark a file's role.
MUSIC_DIRS = {"music", "musics", "musique", "soundtrack", "soundtracks", "songs", "bgm",
              "cdtracks"}
# Folders of effects. Only used for the packages listed for music alone: hyperrogue-music
# ships its game's effects in sounds/ beside music/, and the issue does not list it for sfx.
SOUND_DIRS = {"sound", "sounds", "sfx", "soundfx", "effects"}
# Folders of voice lines: acted speech that game data keeps among its sound effects.
VOICE_DIRS = {"voice", "voices", "speech", "announcer", "voice_samples",
              "tux_ingame_comments", "taunts", "dialog", "dialogue"}
# Ambience stays sound effects even when long: in a film mix room tone, wind and rain are
# effects, and the duration rule must not turn them into music.
AMBIENCE_DIRS = {"ambience", "ambient", "ambiences", "ambients", "amb", "environment",
                 "env_sounds", "atmosphere", "weather", "water_sounds", "loops", "morph",
                 # megaglest's tilesets/*/sounds hold day/night soundscapes (birds,
                 # insects); widelands' animals/ long coyote and bird calls.
                 "tilesets", "animals"}
AMBIENCE_NAME = re.compile(r"(ambien|ambient|^amb_|wind|rain|water|ocean|sea|river|"
                           r"forest|jungle|crowd|engine|loop|fire|storm|cave|night|birds?|"
                           r"(^|[_.-])day([_.-]|$))",
                           re.I)
# Singing and music loops inside packages that are listed for sfx only: the issue did not
# list these packages as music sources, so such files are dropped rather than re-filed.
SFX_ONLY_DROP_DIRS = {"vocals", "music loops", "music_loops"}

# Tux Paint: NAME.ogg is the stamp's sound effect, NAME_desc.ogg its English description
# and NAME_desc_LL.ogg the description in language LL. Only these languages go to speech.
TUXPAINT_DESC_LANGS = {"ro", "es", "ru", "be", "fr", "bg", "en", "nl", "lt", "ml"}
TUXPAINT_DESC = re.compile(r"_desc(?:_([a-z]{2,3})(?:_[A-Za-z]{2,4})?)?\.[^.]+$")
# NAME_LL.ogg (a localised stamp sound) is a spoken word, usually a letter's name in the
# alphabet stamps; the alphabet and number stamps without a language suffix also speak.
# These are speech but not *_desc*, so neither class may have them: they are dropped.
TUXPAINT_LOCALISED = re.compile(r"_([a-z]{2})(?:_[A-Za-z]{2})?\.[^.]+$")
TUXPAINT_SPOKEN_DIRS = {"alphabets", "math"}
# Two-letter words that end stamp names without being language codes.
TUXPAINT_NOT_LANG = {"up", "on", "in", "of", "ox", "go"}

# Effects whose names say they carry speech (a radio message, a TV newscast, crowd chatter
# with words) would teach the model that speech is an effect: dropped from sfx.
SPEECHY_SFX_NAME = re.compile(r"(radio|news|tv_|_tv|talk|speech|chatter|announce|"
                              r"narrat|dialog|voice|vox_|_vox|whisper|conversation)", re.I)

# Music stored among the effects says so in its name: lugaru's Sounds/Music1Snow.ogg,
# warmux's frog_music.ogg, redeclipse's theme_chip.ogg, ufoai's ambience/jingle.ogg. Such
# files go to music where the package is a music source and are dropped elsewhere.
MUSIC_NAME = re.compile(r"(music|theme|song|jingle|(^|[_.-])intro([_.-]|$))", re.I)

# megaglest's unit sounds name their voice responses *_ack<n> / *_select<n>: acknowledgement
# lines ("right away") mixed with animal calls in the same naming. They are voice lines we
# cannot tell from the animals by path, so they are dropped from sfx instead of guessed.
UNIT_VOICE_NAME = re.compile(r"_(ack|select)\d*\.[^.]+$", re.I)


def package_classes(pkg):
    """The classes whose list names pkg, in CLASSES order."""
    return [c for c in CLASSES if pkg in PACKAGE_LISTS[c]]


def all_packages():
    """Every listed package once, the class lists interleaved (speech, music, sfx, speech,
    ...) so that a build cut short still has some of every class."""
    seen, out = set(), []
    for i in range(max(len(v) for v in PACKAGE_LISTS.values())):
        for c in CLASSES:
            if i < len(PACKAGE_LISTS[c]) and PACKAGE_LISTS[c][i] not in seen:
                seen.add(PACKAGE_LISTS[c][i])
                out.append(PACKAGE_LISTS[c][i])
    return out


def _dirs(relpath):
    return [d.lower() for d in relpath.split("/")[:-1]]


def is_ambience(relpath):
    dirs = set(_dirs(relpath))
    return bool(dirs & AMBIENCE_DIRS) or bool(AMBIENCE_NAME.search(relpath.rsplit("/", 1)[-1]))


def classify(pkg, relpath, classes, voice_lines="speech"):
    """First decision from the package lists and the path alone.

    relpath is the file's path inside the package (archive members appear as
    ARCHIVE/MEMBER). Returns (class or None, reason, origin): class None means the file is
    dropped and reason says why; origin tags how the class was found so the trainer can
    filter (e.g. drop the voice lines).
    """
    name = relpath.rsplit("/", 1)[-1]
    ext = "." + name.rsplit(".", 1)[-1].lower() if "." in name else ""
    dirs = _dirs(relpath)
    dset = set(dirs)

    if ext in MIDI_EXTS:
        if pkg in MIDI_PACKAGES:
            return "music", "midi", "midi-render"
        return None, "midi-outside-midi-packages", None
    if pkg in MIDI_PACKAGES:
        return None, "not-midi-in-midi-package", None

    if pkg == "tuxpaint-stamps-default":
        m = TUXPAINT_DESC.search(name)
        if m:
            lang = m.group(1) or "en"
            if lang in TUXPAINT_DESC_LANGS:
                return "speech", "tuxpaint-desc", "tuxpaint-desc-" + lang
            return None, "tuxpaint-desc-other-language", None
        loc = TUXPAINT_LOCALISED.search(name)
        if loc and loc.group(1) not in TUXPAINT_NOT_LANG:
            return None, "tuxpaint-localised-spoken-word", None
        if dset & TUXPAINT_SPOKEN_DIRS:
            return None, "tuxpaint-spoken-letter-or-number", None
        return "sfx", "tuxpaint-stamp-sound", "path"

    if ext in TRACKER_EXTS:
        # A tracker module is music whatever folder it sits in.
        if "music" in classes:
            return "music", "tracker-module", "format"
        return None, "tracker-module-in-non-music-package", None

    if classes == ["speech"]:
        return "speech", "speech-package", "package"
    if classes == ["music"]:
        if not dset & MUSIC_DIRS and dset & SOUND_DIRS:
            return None, "effects-in-music-only-package", None
        return "music", "music-package", "package"

    # Packages listed for sfx (alone or together with music): sort by folder.
    if dset & VOICE_DIRS:
        if voice_lines == "speech":
            return "speech", "voice-folder", "voice-folder"
        return None, "voice-folder", None
    if dset & MUSIC_DIRS or (pkg == "freedroidrpg-data" and "titles" in dset):
        # freedroidrpg keeps its title-screen tunes in titles/ folders.
        if "music" in classes:
            return "music", "music-folder", "path"
        return None, "music-folder-in-sfx-only-package", None
    if pkg == "scratch" and (dset & SFX_ONLY_DROP_DIRS):
        return None, "scratch-vocals-or-music-loops", None
    if pkg == "megaglest-data" and UNIT_VOICE_NAME.search(name):
        return None, "unit-voice-response", None
    if MUSIC_NAME.search(name):
        if "music" in classes:
            return "music", "music-name-in-sound-folder", "name"
        return None, "music-name-in-sfx-only-package", None
    if SPEECHY_SFX_NAME.search(name):
        return None, "speech-like-name-in-sound-folder", None
    if "sfx" in classes:
        return "sfx", "sound-folder", "path"
    return None, "no-rule", None


def classify_after_decode(pkg, relpath, cls, reason, origin, classes, duration_s):
    """Second decision, once the duration is known.

    Games that are listed for both music and sfx store menu themes, jingles and ambient
    songs among their effects; a file in a sound folder longer than LONG_SFX_AS_MUSIC_S
    is taken as music unless its folder or name says ambience. In packages listed for sfx
    only, such long files are kept as sfx (the issue gives no music role there) but tagged
    so the trainer can look at them.
    """
    if cls == "sfx" and duration_s > LONG_SFX_AS_MUSIC_S and pkg != "tuxpaint-stamps-default":
        if is_ambience(relpath):
            return cls, reason, "long-ambience"
        if "music" in classes:
            return "music", "long-file-in-sound-folder", "duration"
        return cls, reason, "long-sfx"
    return cls, reason, origin
