"""Another program holding the conversation database locked: a child process, as in real life.

``python db_locker.py DB`` takes SQLite's exclusive lock, prints ``locked``, and holds it until a
line arrives on stdin (or stdin closes), then releases it and prints ``released``.
"""

import sqlite3
import sys

conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN EXCLUSIVE")
print("locked", flush=True)
sys.stdin.readline()
conn.execute("ROLLBACK")
conn.close()
print("released", flush=True)
