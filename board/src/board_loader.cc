// Reads a board file: parse (errors with file:line:column), then validate.
#include "sbc/board/board.h"
#include "sbc/schema/text_file.h"

namespace sbc::board {

std::expected<Board, Errors> LoadBoard(const std::filesystem::path& file) {
  Board board;
  if (auto parsed = schema::ParseTextFile(file, "board", &board); !parsed)
    return std::unexpected(std::move(parsed.error()));
  Errors errors = ValidateBoard(board, file.string());
  if (!errors.empty()) return std::unexpected(std::move(errors));
  return board;
}

}  // namespace sbc::board
