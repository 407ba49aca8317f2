#include "oom/shell.hpp"

#include <gtest/gtest.h>

using namespace oom;

TEST(ShellQuote, QuotesOnlyWhatTheShellWouldSplit) {
  EXPECT_EQ(shellQuote("--rate"), "--rate");
  EXPECT_EQ(shellQuote("200M@30s"), "200M@30s");
  EXPECT_EQ(shellQuote("a b"), "'a b'");
  EXPECT_EQ(shellQuote("it's"), "'it'\\''s'");
  EXPECT_EQ(shellQuote(""), "''");
}
