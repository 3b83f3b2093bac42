/*
 * echo-server.c: a UDP echo server written the way Winsock servers are. The socket is
 * non-blocking (WSAEventSelect makes it so); the server waits on the socket's event,
 * asks WSAEnumNetworkEvents what happened, and on FD_READ drains the socket with
 * recvfrom until it fails with WSAEWOULDBLOCK, answering each datagram with
 * "echo: " + the request, gathered by WSASendTo from two WSABUFs. The request "bye"
 * ends the server after its reply; so does being idle for IDLE_TIMEOUT_MS.
 *
 *   echo-server [port]          (0 or none: any free port; it prints the one it got)
 *
 * examples/echo-server.mjs is this program ported line by line to wsasendto's facade;
 * examples/echo-client.mjs talks to either.
 *
 * Build (MinGW-w64):  x86_64-w64-mingw32-gcc -Wall -Wextra -O2 echo-server.c -o echo-server.exe -lws2_32
 * Build (MSVC):       cl /W4 echo-server.c   (the pragma below links ws2_32.lib)
 */
#include <winsock2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef _MSC_VER
#pragma comment(lib, "ws2_32.lib")
#endif

#define BUFLEN 1500
#define IDLE_TIMEOUT_MS 10000

int main(int argc, char **argv)
{
    //---------------------------------------------
    // Declare and initialize variables
    WSADATA wsaData;
    SOCKET s = INVALID_SOCKET;
    WSAEVENT ev = WSA_INVALID_EVENT;
    WSANETWORKEVENTS ne;
    struct sockaddr_in local, from;
    int namelen = sizeof(local);
    int fromlen = sizeof(from);
    char buf[BUFLEN];
    char prefix[] = "echo: ";
    WSABUF reply[2];
    DWORD sent = 0;
    DWORD wait;
    unsigned short port = 0;
    int n;
    int rc;
    int err;
    int running = 1;
    int answered = 0;
    int retval = 0;

    if (argc > 1)
        port = (unsigned short) atoi(argv[1]);

    //---------------------------------------------
    // Initialize Winsock
    rc = WSAStartup(MAKEWORD(2, 2), &wsaData);
    if (rc != 0) {
        printf("WSAStartup failed with error: %d\n", rc);
        return 1;
    }

    //---------------------------------------------
    // Create a UDP socket and bind it to 127.0.0.1 and the port asked for
    s = socket(AF_INET, SOCK_DGRAM, IPPROTO_UDP);
    if (s == INVALID_SOCKET) {
        printf("socket failed with error: %d\n", WSAGetLastError());
        WSACleanup();
        return 1;
    }

    local.sin_family = AF_INET;
    local.sin_port = htons(port);
    local.sin_addr.s_addr = inet_addr("127.0.0.1");
    rc = bind(s, (SOCKADDR *) &local, sizeof(local));
    if (rc == SOCKET_ERROR) {
        printf("bind failed with error: %d\n", WSAGetLastError());
        closesocket(s);
        WSACleanup();
        return 1;
    }

    // Port 0 let the system choose: ask which port it gave.
    rc = getsockname(s, (SOCKADDR *) &local, &namelen);
    if (rc == SOCKET_ERROR) {
        printf("getsockname failed with error: %d\n", WSAGetLastError());
        closesocket(s);
        WSACleanup();
        return 1;
    }

    //---------------------------------------------
    // Ask for FD_READ on an event; this makes the socket non-blocking
    ev = WSACreateEvent();
    if (ev == WSA_INVALID_EVENT) {
        printf("WSACreateEvent failed with error: %d\n", WSAGetLastError());
        closesocket(s);
        WSACleanup();
        return 1;
    }

    rc = WSAEventSelect(s, ev, FD_READ);
    if (rc == SOCKET_ERROR) {
        printf("WSAEventSelect failed with error: %d\n", WSAGetLastError());
        WSACloseEvent(ev);
        closesocket(s);
        WSACleanup();
        return 1;
    }

    printf("echo server on %s:%d\n", inet_ntoa(local.sin_addr), ntohs(local.sin_port));
    fflush(stdout);

    // The reply: "echo: " then the request, gathered from two buffers
    reply[0].buf = prefix;
    reply[0].len = (ULONG) strlen(prefix);
    reply[1].buf = buf;
    reply[1].len = 0;

    //---------------------------------------------
    // Wait for requests until "bye", or until nothing came for IDLE_TIMEOUT_MS
    while (running) {
        wait = WSAWaitForMultipleEvents(1, &ev, FALSE, IDLE_TIMEOUT_MS, FALSE);
        if (wait == WSA_WAIT_TIMEOUT) {
            printf("server: idle for %d ms, quitting\n", IDLE_TIMEOUT_MS);
            break;
        }
        if (wait == WSA_WAIT_FAILED) {
            printf("WSAWaitForMultipleEvents failed with error: %d\n", WSAGetLastError());
            retval = 1;
            break;
        }

        // What happened (this also resets the event)
        rc = WSAEnumNetworkEvents(s, ev, &ne);
        if (rc == SOCKET_ERROR) {
            printf("WSAEnumNetworkEvents failed with error: %d\n", WSAGetLastError());
            retval = 1;
            break;
        }
        if ((ne.lNetworkEvents & FD_READ) == 0)
            continue;
        if (ne.iErrorCode[FD_READ_BIT] != 0) {
            printf("FD_READ failed with error: %d\n", ne.iErrorCode[FD_READ_BIT]);
            retval = 1;
            break;
        }

        // One FD_READ may stand for several datagrams: read until none is left
        while (running) {
            fromlen = sizeof(from);
            n = recvfrom(s, buf, BUFLEN, 0, (SOCKADDR *) &from, &fromlen);
            if (n == SOCKET_ERROR) {
                err = WSAGetLastError();
                if (err == WSAEWOULDBLOCK)
                    break;      // drained (this call re-enabled FD_READ)
                if (err == WSAECONNRESET || err == WSAEMSGSIZE) {
                    // An earlier reply found no one (ICMP port unreachable), or a
                    // datagram larger than buf was cut: skip it, keep serving.
                    printf("recvfrom failed with error: %d (ignored)\n", err);
                    continue;
                }
                printf("recvfrom failed with error: %d\n", err);
                retval = 1;
                running = 0;
                break;
            }
            printf("server: got %d bytes from %s:%d\n", n, inet_ntoa(from.sin_addr), ntohs(from.sin_port));

            reply[1].len = (ULONG) n;
            rc = WSASendTo(s, reply, 2, &sent, 0, (SOCKADDR *) &from, fromlen, NULL, NULL);
            if (rc == SOCKET_ERROR)
                printf("WSASendTo failed with error: %d\n", WSAGetLastError());
            else
                answered++;

            if (n == 3 && memcmp(buf, "bye", 3) == 0) {
                printf("server: bye after %d replies\n", answered);
                running = 0;
            }
        }
    }

    //---------------------------------------------
    // Clean up and quit
    if (closesocket(s) == SOCKET_ERROR) {
        printf("closesocket failed with error: %d\n", WSAGetLastError());
        retval = 1;
    }
    WSACloseEvent(ev);
    WSACleanup();
    return retval;
}
