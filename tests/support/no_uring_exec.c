/* Runs a program with io_uring_setup(2) failing with a chosen errno, the way a container's
 * seccomp profile or kernel.io_uring_disabled makes it fail, to test the epoll fallback.
 * usage: no_uring_exec ERRNO PROGRAM [ARGS...]   (ERRNO: EPERM, ENOSYS or ENOMEM) */
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char** argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: no_uring_exec EPERM|ENOSYS|ENOMEM PROGRAM [ARGS...]\n");
    return 2;
  }
  int err = strcmp(argv[1], "ENOSYS") == 0 ? ENOSYS : strcmp(argv[1], "ENOMEM") == 0 ? ENOMEM : EPERM;
  struct sock_filter filter[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_setup, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (unsigned)err),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  struct sock_fprog prog = {(unsigned short)(sizeof filter / sizeof filter[0]), filter};
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
      prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0) {
    perror("no_uring_exec: seccomp");
    return 1;
  }
  execv(argv[2], argv + 2);
  perror("no_uring_exec: execv");
  return 1;
}
