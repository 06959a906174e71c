// Benchmark anchor (not a test): DCMTK's DcmFileFormat over every file of a
// folder, in the same units as ferry_parse_bench.
//
//   dcmtk_parse_bench MODE DIR RUNS
//
// MODE:
//   full        loadFile() with its defaults: values longer than 4 KiB (the
//               pixel data) are left on disk until asked for
//   full-load   loadFile() then loadAllDataIntoMemory(): everything read
//   header      loadFileUntilTag(..., DCM_PixelData): stop at Pixel Data
//   mem-header  files read into memory first, then readUntilTag() from a
//               DcmInputBufferStream: parsing alone, as a network server would
//   mem-full    the same with read(), every value loaded
#include <dirent.h>
#include <time.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcdict.h>
#include <dcmtk/dcmdata/dcistrmb.h>
#include <dcmtk/oflog/oflog.h>

static double now()
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        std::fprintf(stderr, "usage: dcmtk_parse_bench full|full-load|header DIR RUNS\n");
        return 2;
    }
    std::string mode = argv[1];
    int runs = std::atoi(argv[3]);
    OFLog::configure(OFLogger::ERROR_LOG_LEVEL);
    if (!dcmDataDict.isDictionaryLoaded()) {
        std::fprintf(stderr, "DCMTK's dictionary is not loaded (DCMDICTPATH)\n");
        return 2;
    }
    std::vector<std::string> files;
    DIR *d = opendir(argv[2]);
    if (!d || runs < 1) {
        std::perror(argv[2]);
        return 2;
    }
    while (struct dirent *e = readdir(d))
        if (e->d_name[0] != '.')
            files.push_back(std::string(argv[2]) + "/" + e->d_name);
    closedir(d);
    std::sort(files.begin(), files.end());
    bool mem = mode.compare(0, 4, "mem-") == 0;
    std::vector<std::vector<char>> bufs;
    if (mem)
        for (const auto &f : files) {
            FILE *fp = std::fopen(f.c_str(), "rb");
            std::fseek(fp, 0, SEEK_END);
            std::vector<char> b(std::ftell(fp));
            std::fseek(fp, 0, SEEK_SET);
            if (std::fread(b.data(), 1, b.size(), fp) != b.size())
                return 1;
            std::fclose(fp);
            bufs.push_back(std::move(b));
        }
    std::vector<double> t;
    for (int r = 0; r < runs; r++) {
        double t0 = now();
        for (size_t i = 0; i < files.size(); i++) {
            const auto &f = files[i];
            DcmFileFormat ff;
            OFCondition c;
            if (mem) {
                DcmInputBufferStream is;
                is.setBuffer(bufs[i].data(), bufs[i].size());
                is.setEos();
                ff.transferInit();
                if (mode == "mem-header")
                    c = ff.readUntilTag(is, EXS_Unknown, EGL_noChange, DCM_MaxReadLength,
                                        DCM_PixelData);
                else
                    c = ff.read(is, EXS_Unknown, EGL_noChange, 0xFFFFFFFEu);
                ff.transferEnd();
            } else if (mode == "header")
                c = ff.loadFileUntilTag(f.c_str(), EXS_Unknown, EGL_noChange, DCM_MaxReadLength,
                                        ERM_autoDetect, DCM_PixelData);
            else
                c = ff.loadFile(f.c_str());
            if (c.good() && mode == "full-load")
                c = ff.loadAllDataIntoMemory();
            if (c.bad()) {
                std::fprintf(stderr, "%s: %s\n", f.c_str(), c.text());
                return 1;
            }
        }
        t.push_back((now() - t0) / files.size() * 1e6);
    }
    std::sort(t.begin(), t.end());
    std::printf("%.2f\n", t[t.size() / 2]);
    return 0;
}
