# es-embed.cmake: turn the files es-setup sends (share/elasticsearch,
# share/kibana) into C arrays, so the binary needs no data directory.
#   cmake -DOUT=es-assets.c -DMAPPINGS=... -DTEMPLATE=... -DDASHBOARD=... \
#         -P es-embed.cmake
set(c "/* Generated from share/ by report/es-embed.cmake: do not edit. */\n")
string(APPEND c "#include \"report/es.h\"\n")
foreach(pair "es_asset_mappings=${MAPPINGS}"
             "es_asset_index_template=${TEMPLATE}"
             "es_asset_dashboard=${DASHBOARD}")
  string(FIND "${pair}" "=" eq)
  string(SUBSTRING "${pair}" 0 ${eq} name)
  math(EXPR from "${eq} + 1")
  string(SUBSTRING "${pair}" ${from} -1 path)
  file(READ "${path}" hex HEX)
  string(LENGTH "${hex}" hexlen)
  math(EXPR len "${hexlen} / 2")
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
  string(APPEND c "const char ${name}[] = {${bytes}0};\n")
  string(APPEND c "const size_t ${name}_len = ${len};\n")
endforeach()
file(WRITE "${OUT}.tmp" "${c}")
file(RENAME "${OUT}.tmp" "${OUT}")
