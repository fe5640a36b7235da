#!/bin/sh
# spawn-fcgi.sh: example command lines starting bocache under spawn-fcgi,
# which binds the listening socket and passes it to bocache as fd 0 (the
# FastCGI convention). Run as root: spawn-fcgi drops to -u/-g after binding.

# Two bocache processes (-F 2) sharing one socket, each with `workers`
# threads; the application is a separate FastCGI server named by
# backend.address in the configuration. -P records the processes' pids.
spawn-fcgi -s /run/bocache/bocache.sock -M 0660 \
    -u www-data -g www-data -U www-data -G www-data \
    -F 2 -P /run/bocache/bocache.pid \
    -- /usr/bin/bocache -c /etc/bocache/bocache.conf

# Reload both: kill -HUP $(cat /run/bocache/bocache.pid)
# Stop both:   kill -TERM $(cat /run/bocache/bocache.pid)

# One bocache in the foreground (-n: spawn-fcgi execs bocache, so this pid
# is bocache's) that starts php-cgi on a private socket as its child,
# restarts it when it dies and stops it when bocache stops. bocache sets
# PHP_FCGI_CHILDREN to its worker count unless the environment sets it.
#
# spawn-fcgi -n -s /run/bocache/bocache.sock -M 0660 \
#     -u www-data -g www-data -U www-data -G www-data \
#     -- /usr/bin/bocache -c /etc/bocache/bocache.conf -- /usr/bin/php-cgi
