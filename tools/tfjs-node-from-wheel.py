"""Lays out libtensorflow from a tensorflow(-cpu) wheel the way @tensorflow/tfjs-node's build expects it.

Called by tfjs-node-from-wheel.js (python3 is there anyway: pip needs it):
  python3 tfjs-node-from-wheel.py <wheel> <deps dir> <header> [<header> ...]
It writes <deps>/lib (the C API library, its framework library, and the names tfjs-node's build and linker look
for) and <deps>/include (the given headers and every header they include, nothing else of the wheel's 270 MB).
Prints one line per step on stderr; exits 1 with a message naming the wheel when a piece is missing.
"""
import os
import re
import shutil
import sys
import zipfile

WHEEL_INCLUDE = 'tensorflow/include/'
# The wheel's C API lives in libtensorflow_cc; tfjs-node links -ltensorflow and checks for the 2.9.1 name.
LIBRARIES = {
    'libtensorflow_cc.so.2': ['libtensorflow.so', 'libtensorflow.so.2', 'libtensorflow.so.2.9.1'],
    'libtensorflow_framework.so.2': ['libtensorflow_framework.so', 'libtensorflow_framework.so.2.9.1'],
}
INCLUDE_LINE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.MULTILINE)


class WheelLayoutError(Exception):
    pass


def header_closure(wheel, roots):
    """Wheel paths of the root headers and of every quoted include they reach inside the wheel."""
    names = set(wheel.namelist())
    seen, pending = set(), list(roots)
    while pending:
        header = pending.pop()
        member = WHEEL_INCLUDE + header
        if header in seen:
            continue
        if member not in names:
            if header in roots:
                raise WheelLayoutError(
                    f'{wheel.filename}: has no {member}, which the tfjs-node binding includes')
            continue  # a header of the C++ standard library or a platform one, not the wheel's
        seen.add(header)
        text = wheel.read(member).decode('utf-8', errors='replace')
        pending.extend(INCLUDE_LINE.findall(text))
    return sorted(seen)


def extract(wheel, member, target):
    os.makedirs(os.path.dirname(target), exist_ok=True)
    with wheel.open(member) as source, open(target + '.part', 'wb') as sink:
        shutil.copyfileobj(source, sink, 1 << 20)
    os.replace(target + '.part', target)


def lay_out(wheel_path, deps_dir, roots):
    with zipfile.ZipFile(wheel_path) as wheel:
        names = set(wheel.namelist())
        lib_dir = os.path.join(deps_dir, 'lib')
        for library, aliases in LIBRARIES.items():
            member = 'tensorflow/' + library
            if member not in names:
                raise WheelLayoutError(f'{wheel_path}: has no {member}; is it a TensorFlow 2.x Linux wheel?')
            print(f'  lib/{library} ({wheel.getinfo(member).file_size >> 20} MiB)', file=sys.stderr)
            extract(wheel, member, os.path.join(lib_dir, library))
            for alias in aliases:
                link = os.path.join(lib_dir, alias)
                if os.path.lexists(link):
                    os.remove(link)
                os.symlink(library, link)
        headers = header_closure(wheel, roots)
        for header in headers:
            extract(wheel, WHEEL_INCLUDE + header, os.path.join(deps_dir, 'include', header))
        print(f'  include/: {len(headers)} headers reached from {", ".join(roots)}', file=sys.stderr)


if __name__ == '__main__':
    if len(sys.argv) < 4:
        sys.exit('usage: python3 tfjs-node-from-wheel.py <wheel> <deps dir> <header> [<header> ...]')
    try:
        lay_out(sys.argv[1], sys.argv[2], sys.argv[3:])
    except (WheelLayoutError, zipfile.BadZipFile, OSError) as error:
        sys.exit(f'tfjs-node-from-wheel.py: {error}')
