/* glob_match.c: test helper that prints the lines of standard input that
 * the Redis glob in argv[1] matches, for comparison with redis-cli --scan. */
#include "glob.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;

    if (argc != 2) {
        fprintf(stderr, "usage: %s PATTERN <KEYS\n", argv[0]);
        return 2;
    }
    while ((n = getline(&line, &cap, stdin)) != -1) {
        if (n > 0 && line[n - 1] == '\n')
            n--;
        if (bc_glob_match(argv[1], strlen(argv[1]), line, (size_t)n)) {
            fwrite(line, 1, (size_t)n, stdout);
            putchar('\n');
        }
    }
    free(line);
    if (ferror(stdin) || fflush(stdout) != 0) {
        perror("glob_match");
        return 1;
    }
    return 0;
}
