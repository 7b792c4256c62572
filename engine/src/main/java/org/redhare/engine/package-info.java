package org.redhare.engine;
