package org.redhare.core;
