# Every dependency comes from a Debian 12 package (scripts/install-deps.sh).
find_package(PkgConfig REQUIRED)
find_package(Threads REQUIRED)
pkg_check_modules(URING REQUIRED IMPORTED_TARGET liburing)
pkg_check_modules(SQLITE3 REQUIRED IMPORTED_TARGET sqlite3)
# XXH3-64: the checksum of every spool file, computed while it arrives.
pkg_check_modules(XXHASH REQUIRED IMPORTED_TARGET libxxhash)
pkg_check_modules(YAML REQUIRED IMPORTED_TARGET yaml-0.1)
pkg_check_modules(ZLIB REQUIRED IMPORTED_TARGET zlib)
pkg_check_modules(CHECK REQUIRED IMPORTED_TARGET check)
pkg_check_modules(OPENJP2 REQUIRED IMPORTED_TARGET libopenjp2)
pkg_check_modules(CHARLS REQUIRED IMPORTED_TARGET charls)
pkg_check_modules(JPEG REQUIRED IMPORTED_TARGET libjpeg)
# OpenSSL's libcrypto: HMAC-SHA-256 for the deid plugin's keyed UIDs, dates, pseudonyms.
pkg_check_modules(CRYPTO REQUIRED IMPORTED_TARGET libcrypto)

# DCMTK's dictionary: the source of the generated data dictionary.
find_file(FERRY_DCMTK_DICT dicom.dic PATHS /usr/share/libdcmtk17 /usr/share/dcmtk
          NO_DEFAULT_PATH REQUIRED)
find_package(Python3 REQUIRED COMPONENTS Interpreter)
