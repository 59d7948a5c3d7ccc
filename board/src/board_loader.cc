// Reads a board file and turns every parse problem into a line naming file:line:column.
#include <fstream>
#include <sstream>

#include <google/protobuf/io/tokenizer.h>
#include <google/protobuf/text_format.h>

#include "sbc/board/board.h"

namespace sbc::board {
namespace {

// Collects the text-format parser's messages instead of letting protobuf log them.
class CollectingErrors final : public google::protobuf::io::ErrorCollector {
 public:
  CollectingErrors(std::string origin, Errors* errors)
      : origin_(std::move(origin)), errors_(errors) {}

  void AddError(int line, google::protobuf::io::ColumnNumber column,
                const std::string& message) override {
    // The parser counts from 0; editors count from 1.
    errors_->push_back("board " + origin_ + ":" + std::to_string(line + 1) + ":" +
                       std::to_string(column + 1) + ": " + message);
  }
  void AddWarning(int line, google::protobuf::io::ColumnNumber column,
                  const std::string& message) override {
    AddError(line, column, message);
  }

 private:
  std::string origin_;
  Errors* errors_;
};

}  // namespace

std::expected<Board, Errors> LoadBoard(const std::filesystem::path& file) {
  const std::string origin = file.string();
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    std::error_code ec;
    const bool exists = std::filesystem::exists(file, ec);
    return std::unexpected(Errors{"board " + origin + ": " +
                                  (exists ? "cannot be read" : "no such file")});
  }
  std::ostringstream text;
  text << in.rdbuf();

  Errors errors;
  CollectingErrors collector(origin, &errors);
  google::protobuf::TextFormat::Parser parser;
  parser.RecordErrorsTo(&collector);
  Board board;
  if (!parser.ParseFromString(text.str(), &board)) {
    if (errors.empty()) errors.push_back("board " + origin + ": not a valid board file");
    return std::unexpected(std::move(errors));
  }
  errors = ValidateBoard(board, origin);
  if (!errors.empty()) return std::unexpected(std::move(errors));
  return board;
}

}  // namespace sbc::board
