#!/bin/sh
# The traffic of a cache during a snapshot: fill it with 150 values of 1 MiB, ask
# for a BGSAVE, and write into every page of every value while the fork's child
# saves. The child shares the parent's pages; each page the parent writes meanwhile
# is copied (copy-on-write), so the pair grows towards twice the data set. The
# writes are one Lua script (a bulk update): a second or two, faster than the child
# saves (and frees) what it has written.
set -u
redis-cli DEBUG POPULATE 150 blob 1048576 > /dev/null || exit 1
echo "cow: $(redis-cli DBSIZE) values, used_memory $(redis-cli INFO memory | sed -n 's/^used_memory_human://p')"
redis-cli BGSAVE
redis-cli EVAL "local v = string.rep('x', 1048576)
                for i = 0, 149 do redis.call('SETRANGE', 'blob:' .. i, 0, v) end" 0 > /dev/null || exit 1
echo "cow: every page written; $(redis-cli INFO persistence | grep -E '^(rdb_bgsave_in_progress|rdb_current_cow_size)' | tr '\r\n' '  ')"
