#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "server/park.h"
#include "util/log.h"
#include "util/metrics.h"

#define EVENTS_BATCH 64
#define FD_HEADROOM 64		/* descriptors the master keeps for everything else */
#define PARK_MAX 16384

/* Sends fd with one byte of payload (SEQPACKET carries no empty message portably). */
static int
send_fd(int sock, int fd)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} ctl;
	char byte = 'c';
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
			      .msg_control = ctl.buf, .msg_controllen = sizeof(ctl.buf) };
	struct cmsghdr *c;

	memset(&ctl, 0, sizeof(ctl));
	c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	return sendmsg(sock, &msg, MSG_DONTWAIT | MSG_NOSIGNAL) == 1 ? 0 : -1;
}

/*
 * Receives one fd. Returns it, -1 with errno EAGAIN when the queue is empty, or -1 with
 * another errno. A message with no descriptor (or several) is discarded whole.
 */
static int
recv_fd(int sock)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int) * 4)];
	} ctl;
	char byte;
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
			      .msg_control = ctl.buf, .msg_controllen = sizeof(ctl.buf) };
	int fd = -1;

	if (recvmsg(sock, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC) < 0)
		return -1;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c != NULL; c = CMSG_NXTHDR(&msg, c)) {
		size_t n;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < n; i++) {
			int got;

			memcpy(&got, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (fd < 0)
				fd = got;
			else
				close(got);
		}
	}
	if (fd < 0)
		errno = EPROTO;
	return fd;
}

enum pb_err
park_open(struct park *p)
{
	struct rlimit rl;
	int sv[2];

	memset(p, 0, sizeof(*p));
	p->lot = p->hand = p->epfd = -1;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) != 0)
		return PB_ESYSTEM;
	p->lot = sv[0];
	p->hand = sv[1];
	p->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (p->epfd < 0)
		goto fail;
	/* Parked connections count against the master's descriptor limit. */
	p->fd_limit = PARK_MAX + FD_HEADROOM;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (rlim_t)p->fd_limit)
		p->fd_limit = (int)rl.rlim_cur;
	if (p->fd_limit < FD_HEADROOM * 2)
		goto fail;
	p->max = (size_t)(p->fd_limit - FD_HEADROOM);
	p->queue = calloc(p->max, sizeof(*p->queue));
	if (p->queue == NULL)
		goto fail;
	return PB_OK;
fail:
	park_close(p);
	return PB_ESYSTEM;
}

/*
 * Closes everything parked. epoll cannot list what it holds, but EPOLL_CTL_DEL succeeds
 * only for a descriptor in the set, so probing every number below the limit finds exactly
 * ours (once, at stop).
 */
static void
close_parked(struct park *p)
{
	for (size_t i = 0; i < p->nqueue; i++)
		close(p->queue[i]);
	p->nqueue = 0;
	for (int fd = 0; p->epfd >= 0 && p->parked > 0 && fd < p->fd_limit; fd++) {
		if (epoll_ctl(p->epfd, EPOLL_CTL_DEL, fd, NULL) == 0) {
			close(fd);
			p->parked--;
		}
	}
	p->parked = 0;
}

void
park_close(struct park *p)
{
	close_parked(p);
	if (p->epfd >= 0)
		close(p->epfd);
	if (p->lot >= 0)
		close(p->lot);
	if (p->hand >= 0)
		close(p->hand);
	free(p->queue);
	p->queue = NULL;
	p->lot = p->hand = p->epfd = -1;
	metrics_gauge_set(METRIC_CONN_PARKED_NOW, 0);
}

bool
park_backlogged(const struct park *p)
{
	return p->nqueue > 0;
}

/* Gives a connection with a request to whichever worker is free, or queues it. */
static void
hand_out(struct park *p, int fd)
{
	if (p->nqueue == 0 && send_fd(p->lot, fd) == 0) {
		close(fd);
		metrics_add(METRIC_CONN_HANDED_OFF, 1);
		return;
	}
	if (p->nqueue == 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
		log_warn("park: handing a connection to the workers");
		close(fd);
		return;
	}
	if (p->nqueue < p->max) {
		p->queue[p->nqueue++] = fd;
		return;
	}
	close(fd);
	metrics_add(METRIC_CONN_PARK_DROPPED, 1);
}

/* Sends queued hand-offs, oldest first, while the socketpair has room. */
static void
flush(struct park *p)
{
	size_t sent = 0;

	while (sent < p->nqueue && send_fd(p->lot, p->queue[sent]) == 0) {
		close(p->queue[sent]);
		sent++;
	}
	if (sent == 0)
		return;
	metrics_add(METRIC_CONN_HANDED_OFF, sent);
	memmove(p->queue, p->queue + sent, (p->nqueue - sent) * sizeof(*p->queue));
	p->nqueue -= sent;
}

/* Takes in every connection the workers parked. */
static void
take_in(struct park *p)
{
	int fd;

	while ((fd = recv_fd(p->lot)) >= 0) {
		struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP, .data.fd = fd };
		char c;

		/* Under pressure the next request is often there already: no need to watch. */
		if (recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT) > 0) {
			hand_out(p, fd);
			continue;
		}
		if (p->closing) {
			close(fd);
			continue;
		}
		if (p->parked + p->nqueue >= p->max) {
			close(fd);
			metrics_add(METRIC_CONN_PARK_DROPPED, 1);
			continue;
		}
		if (epoll_ctl(p->epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
			log_warn("park: epoll_ctl");
			close(fd);
			continue;
		}
		p->parked++;
	}
	if (errno != EAGAIN && errno != EWOULDBLOCK)
		log_warn("park: receiving a parked connection");
}

/* Moves every parked connection that woke up: closed by the web server, or a request. */
static void
watch(struct park *p)
{
	struct epoll_event ev[EVENTS_BATCH];
	int n;

	do {
		n = epoll_wait(p->epfd, ev, EVENTS_BATCH, 0);
		for (int i = 0; i < n; i++) {
			int fd = ev[i].data.fd;
			char c;
			ssize_t got;

			(void)epoll_ctl(p->epfd, EPOLL_CTL_DEL, fd, NULL);
			p->parked--;
			/* Readable and not hung up: a request. Only an end needs a closer look. */
			if ((ev[i].events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) == 0) {
				hand_out(p, fd);
				continue;
			}
			got = recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
			if (got > 0) {
				hand_out(p, fd);
			} else if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) &&
			    epoll_ctl(p->epfd, EPOLL_CTL_ADD, fd, &ev[i]) == 0) {
				p->parked++;	/* woke with nothing to read: keep watching */
			} else {
				close(fd);	/* the web server closed it (or it broke) */
			}
		}
	} while (n == EVENTS_BATCH);
}

void
park_drain(struct park *p)
{
	park_service(p, true, true);
	close_parked(p);
	p->closing = true;
	metrics_gauge_set(METRIC_CONN_PARKED_NOW, (int64_t)p->nqueue);
}

void
park_service(struct park *p, bool lot_ready, bool parked_ready)
{
	if (lot_ready)
		take_in(p);
	if (parked_ready)
		watch(p);
	if (p->nqueue > 0)
		flush(p);
	metrics_gauge_set(METRIC_CONN_PARKED_NOW, (int64_t)(p->parked + p->nqueue));
}

void
park_give(int hand, int fd)
{
	if (send_fd(hand, fd) == 0)
		metrics_add(METRIC_CONN_PARKED, 1);
	else
		metrics_add(METRIC_CONN_PARK_DROPPED, 1);
	close(fd);
}

int
park_take(int hand)
{
	return recv_fd(hand);
}
