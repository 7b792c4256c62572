package org.redhare.bench;
