package org.redhare.server;
