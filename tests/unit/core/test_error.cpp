#include <gtest/gtest.h>

#include "core/error.hpp"

using namespace januskit;

TEST(ErrorLine, SingleLinePrefixed) {
  EXPECT_EQ(format_error_line("model.safetensors: truncated"), "error: model.safetensors: truncated");
}

TEST(ErrorLine, FoldsNewlines) {
  EXPECT_EQ(format_error_line("first\nsecond\r\nthird"), "error: first; second; third");
  EXPECT_EQ(format_error_line("trailing space  \nnext"), "error: trailing space; next");
}

TEST(ErrorLine, EmptyMessage) { EXPECT_EQ(format_error_line(""), "error: unknown error"); }

TEST(ErrorLine, FileErrorNamesThePath) {
  FileError e("/models/x/config.json", "invalid JSON at line 3");
  EXPECT_STREQ(e.what(), "/models/x/config.json: invalid JSON at line 3");
}

TEST(ExitCode, UsageErrorsExitTwoOthersOne) {
  EXPECT_EQ(exit_code_for(UsageError("--cfg: must be positive")), 2);
  EXPECT_EQ(exit_code_for(Error("no weights")), 1);
  EXPECT_EQ(exit_code_for(FileError("a", "b")), 1);
  EXPECT_EQ(exit_code_for(std::runtime_error("x")), 1);
}

TEST(Cat, ConcatenatesMixedTypes) { EXPECT_EQ(cat("a", 1, '-', 2.5, std::string("z")), "a1-2.5z"); }
